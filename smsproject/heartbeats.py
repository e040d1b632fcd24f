"""Heartbeats: how ``/readyz`` knows that a Celery worker and beat are alive.

Each writes the time into the shared cache: a worker every ``PROBES["HEARTBEAT_SECONDS"]`` from its own
event loop's timer (so a worker whose loop is stuck stops beating), beat when it starts and whenever it
publishes a task (the sweeper is due every ``SMS_SWEEP_INTERVAL_SECONDS``, so a running beat publishes at
least that often). A failed write is logged and forgotten: a heartbeat must never stop the process.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from celery import bootsteps
from django.conf import settings
from django.core.cache import cache

logger = logging.getLogger(__name__)

WORKER = "worker"
BEAT = "beat"
# Kept long after they go stale, so /readyz can say how stale rather than only "missing".
_KEEP_SECONDS = 7 * 24 * 3600


def _key(role: str) -> str:
    return f"gateway:heartbeat:{role}"


def heartbeat_record(*, role: str) -> None:
    try:
        cache.set(_key(role), time.time(), timeout=_KEEP_SECONDS)
    except Exception:  # a cache outage is /readyz's to report, not a reason to stop the process
        logger.warning("could not record the %s heartbeat in the cache", role, exc_info=True)


def heartbeat_age(*, role: str) -> float | None:
    """Seconds since ``role`` last beat, or None if it never did (or the cache lost it)."""
    beat = cache.get(_key(role))
    return None if beat is None else max(0.0, time.time() - float(beat))


class WorkerHeartbeat(bootsteps.StartStopStep):
    """A worker step: beats at start, then on the worker's own timer."""

    requires = {"celery.worker.components:Timer"}

    def __init__(self, parent: Any, **kwargs: Any) -> None:
        super().__init__(parent, **kwargs)
        self.tref: Any = None

    def start(self, parent: Any) -> None:
        heartbeat_record(role=WORKER)
        self.tref = parent.timer.call_repeatedly(
            settings.PROBES["HEARTBEAT_SECONDS"], heartbeat_record, kwargs={"role": WORKER}
        )

    def stop(self, parent: Any) -> None:
        if self.tref is not None:
            self.tref.cancel()
            self.tref = None


class BeatHeartbeat:
    """Beat's side: connected to ``beat_init`` and ``before_task_publish`` in ``smsproject.celery``.

    Every process publishes tasks (the API wakes the pump), so only the process where beat started beats.
    """

    in_beat = False

    @classmethod
    def started(cls, **_: Any) -> None:
        cls.in_beat = True
        heartbeat_record(role=BEAT)

    @classmethod
    def published(cls, **_: Any) -> None:
        if cls.in_beat:
            heartbeat_record(role=BEAT)
