#!/usr/bin/env bash
# Sets up and runs the whole service on the embedded default (SQLite + filesystem broker): the provider
# simulator, the API on 127.0.0.1:8000, a Celery worker and beat. Ctrl-C stops all.
#   bash scripts/up.sh            # as above
#   bash scripts/up.sh --admin    # first asks for an admin user (or set DJANGO_SUPERUSER_USERNAME,
#                                 # DJANGO_SUPERUSER_PASSWORD and DJANGO_SUPERUSER_EMAIL to create it unasked)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
PY=.venv/bin/python
SIM_PORT="${SIM_PORT:-8900}"
API="127.0.0.1:${PORT:-8000}"
mkdir -p data/logs

# A development .env, read by smsproject/settings.py, so that manage.py and celery work by hand too.
if [ ! -f .env ]; then
  umask 077
  cat > .env <<ENV
# Written by scripts/up.sh for development (never commit it). Every variable: .env.example.
DEBUG=1
SECRET_KEY=$($PY -c 'import secrets; print(secrets.token_urlsafe(50))')
SMSIR_API_URL=http://127.0.0.1:$SIM_PORT/smsir
KAVENEGAR_API_URL=http://127.0.0.1:$SIM_PORT/kavenegar
SMSIR_API_KEY=demo-smsir-key
KAVENEGAR_API_KEY=demo-kavenegar-key
ENV
  umask 022
  echo "wrote .env (development settings; edit it or see .env.example)"
fi

$PY manage.py migrate --no-input -v 0
$PY manage.py load_providers "${PROVIDERS_FILE:-demo/providers.yaml}"
if [ -n "${DJANGO_SUPERUSER_USERNAME:-}" ] && [ -n "${DJANGO_SUPERUSER_PASSWORD:-}" ]; then
  $PY manage.py createsuperuser --no-input --email "${DJANGO_SUPERUSER_EMAIL:-}" 2>/dev/null \
    && echo "admin user $DJANGO_SUPERUSER_USERNAME created" || echo "admin user $DJANGO_SUPERUSER_USERNAME exists already"
elif [ "${1:-}" = "--admin" ]; then
  $PY manage.py createsuperuser
fi

pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM

# The simulator takes the same keys the engines were loaded with: the environment's, else the .env's.
setting() { if [ -n "${!1:-}" ]; then echo "${!1}"; else sed -n "s/^$1=//p" .env | tail -n 1; fi; }
$PY -m providers.simulator --host 127.0.0.1 --port "$SIM_PORT" --key "smsir=$(setting SMSIR_API_KEY)" \
  --key "kavenegar=$(setting KAVENEGAR_API_KEY)" > data/logs/simulator.log 2>&1 & pids+=($!)
.venv/bin/celery -A smsproject worker -l INFO > data/logs/worker.log 2>&1 & pids+=($!)
.venv/bin/celery -A smsproject beat -l info --scheduler django_celery_beat.schedulers:DatabaseScheduler \
  --pidfile= -s data/celerybeat-schedule > data/logs/beat.log 2>&1 & pids+=($!)
$PY manage.py runserver "$API" --noreload > data/logs/web.log 2>&1 & pids+=($!)

# Ready when the database, cache, broker, worker and beat all answer (GET /readyz).
if ! $PY scripts/wait_http.py http://$API/readyz 90; then
  echo "not ready after 90 s; see data/logs/" >&2
  exit 1
fi

# One demo client, kept across runs: its key stays in data/ (never committed) while the API accepts it.
KEY_FILE=data/demo-client.key
KEY=$(cat "$KEY_FILE" 2>/dev/null || true)
if [ -z "$KEY" ] || ! $PY scripts/wait_http.py http://$API/sendsms/?limit=1 0 "$KEY" 2>/dev/null; then
  KEY=$($PY manage.py create_client demo 2>/dev/null | tail -n 1) \
    || KEY=$($PY manage.py create_client "demo-$(date +%s)" | tail -n 1)
  (umask 077; echo "$KEY" > "$KEY_FILE")
fi

cat <<MSG

SMS gateway running: API http://$API/  Swagger http://$API/swagger/  Admin /admin/
Provider simulator on http://127.0.0.1:$SIM_PORT (logs in data/logs/). Ctrl-C stops everything.
Try:
  curl -s -X POST http://$API/sendsms/ -H "Authorization: Token $KEY" \\
       -H 'Content-Type: application/json' -d '{"phone": "09121234567", "template_id": 1, "token_value": {"code": "123456"}}'
  curl -s http://$API/sendsms/ -H "Authorization: Token $KEY"

Demo client key:
$KEY
MSG
wait -n "${pids[@]}"
echo "a process stopped; see data/logs/" >&2
