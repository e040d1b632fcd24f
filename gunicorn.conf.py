"""gunicorn settings for the API, as production and the benchmark run it: ``gunicorn smsproject.wsgi``.

gunicorn reads this file from the working directory by itself. Sync workers, as the benchmark found
best for this path (gthread with keep-alive piled connections onto one process); twice as many as
cores, because each request waits about a millisecond on PostgreSQL's commit and on Redis, and one
worker per core left the CPU idle meanwhile: at 200 req/s, accept p99 45 ms with 4 workers on 2 cores
against 120 ms with 2 (docs/benchmark.md).
"""

import multiprocessing
import os

from gunicorn.glogging import Logger

from common.masking import AccessLogMaskingFilter

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
worker_class = "sync"
workers = int(os.environ.get("WEB_CONCURRENCY") or 2 * multiprocessing.cpu_count())
backlog = 2048
timeout = 30
# Each worker marks itself alive by touching a temporary file (os.utime) before every request. On a
# disk-backed /tmp that is a metadata write, which gunicorn's own docs warn can block a worker while the
# disk stalls; this machine's disk stalls for 100-300 ms at times even when idle (docs/benchmark.md).
# A tmpfs keeps the heartbeat off the disk. Not measured to change the p99 here (utime on /tmp did not
# block under an fdatasync load); it removes one disk touch from the request loop.
_SHM = "/dev/shm"  # noqa: S108  (gunicorn creates the file with mkstemp and unlinks it at once)
worker_tmp_dir = _SHM if os.path.isdir(_SHM) else None
# Off unless asked for ("-" is stdout): a line per request costs CPU on the accept path. Lines are masked:
# GET /sendsms/?phone= puts a number in the request line.
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None


class MaskedLogger(Logger):
    """gunicorn's logger with phone numbers masked in its access log."""

    def setup(self, cfg):
        super().setup(cfg)
        if not any(isinstance(each, AccessLogMaskingFilter) for each in self.access_log.filters):
            self.access_log.addFilter(AccessLogMaskingFilter())


logger_class = MaskedLogger


def post_worker_init(worker):
    """Load every view now, then hide the loaded code from the garbage collector (common.runtime)."""
    from django.urls import get_resolver

    from common.runtime import gc_tune

    get_resolver().url_patterns  # noqa: B018  (imports the URLconf, so every view, serializer and service)
    gc_tune()
