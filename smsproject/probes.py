"""``/healthz`` (liveness) and ``/readyz`` (readiness) for load balancers and orchestrators.

Both are answered by the first middleware, ahead of host validation, HTTPS redirects, sessions, the fast
accept path and the API's rate limits: a probe carries no client key and often names the machine by its
address. ``/healthz`` touches nothing. ``/readyz`` runs django-health-check's database and cache checks
and ours for the broker and the worker and beat heartbeats (``smsproject.heartbeats``), each in a thread
of a small pool, and answers after at most ``PROBES["CHECK_SECONDS"]`` whatever they do: a frozen Redis
or PostgreSQL makes it 503, never makes it hang. A check still running then finishes on its own, and
while every pool thread is stuck, later probes wait in the queue and answer 503 the same way.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from health_check.base import HealthCheck
from health_check.checks import Cache, Database
from health_check.exceptions import ServiceUnavailable

from smsproject.heartbeats import BEAT, WORKER, heartbeat_age


@dataclasses.dataclass
class Broker(HealthCheck):
    """The Celery broker accepts a connection and opens a channel (Redis: one PING)."""

    def run(self) -> None:
        from smsproject.celery import app

        try:
            with app.connection_for_write() as connection:
                connection.ensure_connection(max_retries=1)
                connection.default_channel  # noqa: B018  (opening the channel is the check)
        except Exception as exc:  # the URL may hold a password: name only the kind of failure
            raise ServiceUnavailable(f"broker unreachable ({type(exc).__name__})") from exc


@dataclasses.dataclass
class Heartbeat(HealthCheck):
    """A worker or beat wrote its heartbeat into the cache recently."""

    role: str = WORKER

    def run(self) -> None:
        try:
            age = heartbeat_age(role=self.role)
        except Exception as exc:
            raise ServiceUnavailable(f"cache unreadable ({type(exc).__name__})") from exc
        limit = settings.PROBES[f"{self.role.upper()}_MAX_AGE_SECONDS"]
        if age is None:
            raise ServiceUnavailable(f"no {self.role} heartbeat yet")
        if age > limit:
            raise ServiceUnavailable(f"last {self.role} heartbeat {age:.0f} s ago (limit {limit:g} s)")


CHECKS: dict[str, HealthCheck] = {
    "database": Database(),
    "cache": Cache(),
    "broker": Broker(),
    "worker": Heartbeat(role=WORKER),
    "beat": Heartbeat(role=BEAT),
}
_pool = ThreadPoolExecutor(max_workers=2 * len(CHECKS), thread_name_prefix="readyz")


def _outcome(check: HealthCheck) -> str | None:
    """The check's error message, or None when it passed."""
    result = asyncio.run(check.get_result())
    return None if result.error is None else str(result.error.message)


def readiness() -> dict[str, str]:
    """Each check's name and "ok" or what failed, within ``PROBES["CHECK_SECONDS"]``."""
    budget = settings.PROBES["CHECK_SECONDS"]
    futures: dict[str, Future[str | None]] = {name: _pool.submit(_outcome, check) for name, check in CHECKS.items()}
    done, _ = wait(futures.values(), timeout=budget)
    answers = {}
    for name, future in futures.items():
        if future in done:
            answers[name] = future.result() or "ok"
        else:
            future.cancel()  # still queued behind stuck checks: never start it
            answers[name] = f"no answer within {budget:g} s"
    return answers


def _readyz(request: HttpRequest) -> HttpResponse:
    answers = readiness()
    failed = sorted(name for name, answer in answers.items() if answer != "ok")
    body = {"status": "unavailable" if failed else "ok", "checks": answers, "failed": failed}
    response = JsonResponse(body, status=503 if failed else 200)
    response["Cache-Control"] = "no-store"
    # Polled every few seconds: an outage must not log one error per probe (django.request skips these).
    response._has_been_logged = True  # type: ignore[attr-defined]
    return response


def _healthz(request: HttpRequest) -> HttpResponse:
    response = JsonResponse({"status": "ok"})
    response["Cache-Control"] = "no-store"
    return response


_PROBES: dict[str, Callable[[HttpRequest], HttpResponse]] = {"/healthz": _healthz, "/readyz": _readyz}


class ProbeMiddleware:
    """Answers ``GET``/``HEAD`` on the probe paths before any other middleware runs."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        probe = _PROBES.get(request.path_info.rstrip("/"))
        if probe is not None and request.method in ("GET", "HEAD"):
            return probe(request)
        return self.get_response(request)
