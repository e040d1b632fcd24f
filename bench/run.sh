#!/usr/bin/env bash
# The benchmark: bash bench/run.sh [--quick] [--setup pg|embedded] [--cases NAME ...] [--rounds N] [--workers N]
# Env: BENCH_WORKER_CMD (the gateway worker command), BENCH_WORKERS (how many of them). See docs/benchmark.md.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python -m bench "$@"
