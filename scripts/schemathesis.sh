#!/usr/bin/env bash
# Fuzzes the live API against its own OpenAPI schema with schemathesis (every check on) and fails on any
# finding. Starts everything it needs on free 127.0.0.1 ports in a temporary data folder: the provider
# simulator, a freshly migrated SQLite gateway with the demo providers and one client, and gunicorn.
# SCHEMATHESIS_EXAMPLES (default 20) bounds the generated cases per operation; arguments are passed on to
# `schemathesis run` (e.g. --include-path /verifications/ --report ndjson --report-dir /tmp/st).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
PY=.venv/bin/python

work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

free_port() { $PY -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# Production-like: DEBUG off, the error handlers and host checks a deployment has.
# ENV_FILE= keeps a developer's .env out; the embedded default lives in the temporary folder.
export ENV_FILE= DEBUG=0 SECRET_KEY="schemathesis-$(date +%s)-$RANDOM" ALLOWED_HOSTS=127.0.0.1 DATA_DIR="$work"
unset DATABASE_URL CELERY_BROKER_URL CACHE_URL SENTRY_DSN
# The fuzzer sends many requests to few numbers from one address: limits would answer most with 429.
export SMS_RATE_LIMIT_PHONE=100000/60 SMS_RATE_LIMIT_PREFIX=100000/60 SMS_RATE_LIMIT_CLIENT=100000/60 \
  SMS_RATE_LIMIT_IP=100000/60

$PY -m providers.simulator --host 127.0.0.1 --port 0 > "$work/simulator.log" 2>&1 & pids+=($!)
for _ in $(seq 600); do grep -q SIMULATOR_LISTENING "$work/simulator.log" && break; sleep 0.1; done
sim_url=$(awk '/SIMULATOR_LISTENING/ {print $2}' "$work/simulator.log")
[ -n "$sim_url" ] || { echo "the simulator did not start:" >&2; cat "$work/simulator.log" >&2; exit 1; }
sim_url=${sim_url%/}
export SMSIR_API_URL="$sim_url/smsir" KAVENEGAR_API_URL="$sim_url/kavenegar"
export SMSIR_API_KEY=fuzz-smsir-key KAVENEGAR_API_KEY=fuzz-kavenegar-key

$PY manage.py migrate --no-input -v 0
$PY manage.py load_providers demo/providers.yaml > /dev/null
key=$($PY manage.py create_client fuzzer | tail -n 1)

port=$(free_port)
.venv/bin/gunicorn smsproject.wsgi --bind "127.0.0.1:$port" --workers 2 > "$work/gunicorn.log" 2>&1 & pids+=($!)
base="http://127.0.0.1:$port"

status=0
# From the temporary folder: schemathesis keeps a cache folder where it runs.
root=$PWD
(cd "$work" && SCHEMATHESIS_HOOKS="$root/scripts/schemathesis_hooks.py" "$root/.venv/bin/schemathesis" --no-color \
  --config-file "$root/scripts/schemathesis.toml" run "$base/schema/" --wait-for-schema 60 \
  --checks all \
  --max-examples "${SCHEMATHESIS_EXAMPLES:-20}" \
  --header "Authorization: Token $key" \
  --workers 2 \
  --seed "${SCHEMATHESIS_SEED:-1}" "$@") || status=$?
if [ "$status" -ne 0 ]; then
  echo "schemathesis found problems; gunicorn's log:" >&2
  tail -n 50 "$work/gunicorn.log" >&2
fi
exit "$status"
