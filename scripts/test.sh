#!/usr/bin/env bash
# Runs the whole test suite. DATABASE_URL / CELERY_BROKER_URL / CACHE_URL choose the set-up
# (default: SQLite + the filesystem broker + the database cache; no server needed).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# Tests get their own data folder (SQLite file, broker folder), apart from a running dev stack.
export DATA_DIR="${TEST_DATA_DIR:-$PWD/data/test}"
export DEBUG=1
export SECRET_KEY="${SECRET_KEY:-test-only-secret-key}"
exec .venv/bin/python -m pytest "$@"
