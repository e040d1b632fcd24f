#!/usr/bin/env bash
# Runs the test suite. DATABASE_URL / CELERY_BROKER_URL / CACHE_URL choose the set-up
# (default: SQLite + the filesystem broker + the database cache; no server needed).
#   bash scripts/test.sh                  # every test this machine can run, one line per test
#   bash scripts/test.sh path/to/test_x.py -q    # pytest's own arguments, as given
# Two groups start server programs of their own: the fault-injection suite (-m faults: PostgreSQL's
# initdb/postgres, redis-server and rabbitmq-server) and the tests marked "servers" (redis-server, nginx,
# systemd-analyze, promtool, chromium). Without those
# programs they are left out, and this says so; .ci/run installs them and runs both groups.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# Tests get their own data folder (SQLite file, broker folder), apart from a running dev stack,
# and never read a developer's .env.
export DATA_DIR="${TEST_DATA_DIR:-$PWD/data/test}"
export DEBUG=1
export SECRET_KEY="${SECRET_KEY:-test-only-secret-key}"
export ENV_FILE=""

args=("$@")
if [ $# -eq 0 ]; then
  args=(-v)  # names each test as it starts: some run for a minute
fi
case " $* " in
  *" -m "* | *" -m="*) ;;  # the caller chose the groups
  *)
    missing=()
    ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=("PostgreSQL (initdb, postgres)")
    command -v redis-server >/dev/null || missing+=("redis-server")
    [ -x /usr/lib/rabbitmq/bin/rabbitmq-server ] || missing+=("rabbitmq-server")
    command -v nginx >/dev/null || missing+=("nginx")
    command -v systemd-analyze >/dev/null || missing+=("systemd-analyze")
    command -v promtool >/dev/null || missing+=("promtool (Debian's prometheus)")
    command -v chromium >/dev/null && command -v chromedriver >/dev/null || missing+=("chromium, chromium-driver")
    if [ ${#missing[@]} -gt 0 ]; then
      cat >&2 <<MSG
== NOT RUN on this machine: tests marked "faults" and "servers" need server programs that are missing:
   $(IFS=,; echo "${missing[*]}")
   .ci/run runs both groups (it starts PostgreSQL and Redis, installs RabbitMQ and nginx if missing); by hand,
   once they are installed: bash scripts/test.sh -m servers   and   bash scripts/test.sh -m faults tests/faults
== Running every other test.
MSG
      args+=(-m "not faults and not servers")
    fi
    ;;
esac
exec .venv/bin/python -m pytest "${args[@]}"
