#!/usr/bin/env bash
# Sets up and runs the whole service on the embedded default (SQLite + filesystem broker):
# the provider simulator, the API on 127.0.0.1:8000, a Celery worker and beat. Ctrl-C stops all.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export DEBUG="${DEBUG:-1}"
export SIM_PORT="${SIM_PORT:-8900}"
export SMSIR_API_URL="${SMSIR_API_URL:-http://127.0.0.1:$SIM_PORT/smsir}"
export KAVENEGAR_API_URL="${KAVENEGAR_API_URL:-http://127.0.0.1:$SIM_PORT/kavenegar}"
export SMSIR_API_KEY="${SMSIR_API_KEY:-demo-smsir-key}"
export KAVENEGAR_API_KEY="${KAVENEGAR_API_KEY:-demo-kavenegar-key}"
PY=.venv/bin/python
mkdir -p data/logs

$PY manage.py migrate --no-input -v 0
$PY manage.py load_providers "${PROVIDERS_FILE:-demo/providers.yaml}"
KEY=$($PY manage.py create_client "demo-$(date +%s)" | tail -n 1)

pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM

# The simulator takes the same keys the engines were loaded with, so a key set in the environment works too.
$PY -m providers.simulator --host 127.0.0.1 --port "$SIM_PORT" --key "smsir=$SMSIR_API_KEY" \
  --key "kavenegar=$KAVENEGAR_API_KEY" > data/logs/simulator.log 2>&1 & pids+=($!)
.venv/bin/celery -A smsproject worker -l INFO > data/logs/worker.log 2>&1 & pids+=($!)
.venv/bin/celery -A smsproject beat -l info --scheduler django_celery_beat.schedulers:DatabaseScheduler \
  --pidfile= -s data/celerybeat-schedule > data/logs/beat.log 2>&1 & pids+=($!)
$PY manage.py runserver 127.0.0.1:8000 --noreload > data/logs/web.log 2>&1 & pids+=($!)

cat <<MSG

SMS gateway running: API http://127.0.0.1:8000/  Swagger http://127.0.0.1:8000/swagger/
Provider simulator on http://127.0.0.1:$SIM_PORT (logs in data/logs/). Ctrl-C stops everything.
Try:
  curl -s -X POST http://127.0.0.1:8000/sendsms/ -H "Authorization: Token $KEY" \\
       -H 'Content-Type: application/json' -d '{"phone": "09121234567", "template_id": 1, "token_value": {"code": "123456"}}'
  curl -s http://127.0.0.1:8000/sendsms/ -H "Authorization: Token $KEY"

Demo client key:
$KEY
MSG
wait -n "${pids[@]}"
echo "a process stopped; see data/logs/" >&2
