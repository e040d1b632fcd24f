"""Prometheus metrics that processes count as things happen (requests, attempts, verifications).

Every API and worker process counts into its own files under ``PROMETHEUS_MULTIPROC_DIR`` (prometheus_client's
multiprocess mode, which ``smsproject.settings`` switches on), and a scrape of ``/metrics`` in any process sums
them all. Gauges that describe the present (queue depth, breaker states, credit) are not counted here: they are
read when scraped (``messaging.metrics``), so no process has to keep them current and none goes stale.

Labels are bounded by configuration: template ids, engine names, outcomes, flags and provider error codes.
Never a phone number, code, key or request id.
"""

from __future__ import annotations

import functools

from django.conf import settings
from prometheus_client import Counter, Histogram

PREFIX = "sms_gateway"

ACCEPTED = Counter(f"{PREFIX}_requests_accepted", "Send requests accepted (202).", ["template"])
ENDED = Counter(f"{PREFIX}_requests_ended", "Send requests that reached a final flag.", ["flag"])
ATTEMPTS = Counter(
    f"{PREFIX}_attempts", "Provider attempts by engine, outcome and error code.", ["engine", "outcome", "error_code"]
)
CALL_SECONDS = Histogram(
    f"{PREFIX}_provider_call_seconds",
    "Time from sending a request to a provider to its answer (or timeout).",
    ["engine"],
    buckets=(0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
VERIFICATIONS = Counter(
    f"{PREFIX}_verifications",
    "Verification events by template: started, approved, expired, locked, canceled.",
    ["template", "event"],
)
DELIVERY_REPORTS = Counter(
    f"{PREFIX}_delivery_reports",
    "Final delivery states of sent messages by engine: delivered, undelivered, blocked, failed, unknown.",
    ["engine", "state"],
)
ROUTES = Counter(
    f"{PREFIX}_routing_first_tries",
    "Sends by the engine chosen to try first, the template's policy and why (priority, weighted, best, "
    "exploration, learning, rescue, call).",
    ["engine", "policy", "choice"],
)
CONFIGURATION_ERRORS = Counter(
    f"{PREFIX}_configuration_errors",
    "Engines found misconfigured (wrong key, unknown template...).",
    ["engine", "code"],
)


@functools.cache
def enabled() -> bool:
    """Whether this process counts at all (``SMS_METRICS_ENABLED``); read once, at the first count."""
    return bool(settings.METRICS_ENABLED)


def count_accepted(template_id: int) -> None:
    if enabled():
        ACCEPTED.labels(str(template_id)).inc()


def count_ended(flag: str, amount: int = 1) -> None:
    if enabled() and amount:
        ENDED.labels(flag).inc(amount)


def count_attempt(engine: str, outcome: str, error_code: str, latency_ms: int | None) -> None:
    if not enabled():
        return
    ATTEMPTS.labels(engine, outcome, error_code).inc()
    if latency_ms is not None:
        CALL_SECONDS.labels(engine).observe(latency_ms / 1000)


def count_verification(template_id: int, event: str) -> None:
    if enabled():
        VERIFICATIONS.labels(str(template_id), event).inc()


def count_configuration_error(engine: str, code: str) -> None:
    if enabled():
        CONFIGURATION_ERRORS.labels(engine, code).inc()


def count_delivery_report(engine: str, state: str) -> None:
    if enabled():
        DELIVERY_REPORTS.labels(engine, state).inc()


def count_route(engine: str, policy: str, choice: str, amount: int = 1) -> None:
    if enabled() and amount:
        ROUTES.labels(engine, policy, choice).inc(amount)
