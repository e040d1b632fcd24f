"""gunicorn settings for the API, as production and the benchmark run it: ``gunicorn smsproject.wsgi``.

gunicorn reads this file from the working directory by itself. Sync workers, as the benchmark found
best for this path (gthread with keep-alive piled connections onto one process); twice as many as
cores, because each request waits about a millisecond on PostgreSQL's commit and on Redis, and one
worker per core left the CPU idle meanwhile: at 200 req/s, accept p99 45 ms with 4 workers on 2 cores
against 120 ms with 2 (docs/benchmark.md).
"""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
worker_class = "sync"
workers = int(os.environ.get("WEB_CONCURRENCY") or 2 * multiprocessing.cpu_count())
backlog = 2048
timeout = 30


def post_worker_init(worker):
    """Load every view now, then hide the loaded code from the garbage collector (common.runtime)."""
    from django.urls import get_resolver

    from common.runtime import gc_tune

    get_resolver().url_patterns  # noqa: B018  (imports the URLconf, so every view, serializer and service)
    gc_tune()
