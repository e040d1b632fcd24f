"""Gauges read when Prometheus scrapes: the queue, the breakers, each engine's state and its routing scores.

They describe the present, so they are read from the database and the cache at scrape time instead of
being kept current by every process (a counted gauge would go stale when its process dies). Each read is
one indexed query or one cache call per engine, so a scrape stays cheap at any table size. A cache outage
costs the samples read from the cache, never the scrape.
"""

from __future__ import annotations

from collections.abc import Iterator

from django.db.models import Count, Min
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from common.metrics import PREFIX
from messaging import breaker
from messaging.models import Engine, VerifyRequests
from messaging.selectors_routing import routing_scores

Flag = VerifyRequests.Flag
# Numeric breaker states, so that alerts can compare: anything above 0 is not carrying traffic normally.
BREAKER_VALUES = {"closed": 0, "half-open": 1, "open": 2}


class GatewayCollector(Collector):
    def collect(self) -> Iterator[GaugeMetricFamily]:
        yield from _queue()
        yield from _engines()
        yield from _routing()

    def describe(self) -> list[GaugeMetricFamily]:
        return []  # read at scrape only: never collected when the collector is registered


def _queue() -> Iterator[GaugeMetricFamily]:
    now = timezone.now()
    depth = GaugeMetricFamily(
        f"{PREFIX}_queue_depth", "Requests waiting (PENDING) or in flight (SENDING).", labels=["flag"]
    )
    counts = dict(
        VerifyRequests.objects.filter(flag__in=[Flag.PENDING, Flag.SENDING])
        .values_list("flag")
        .annotate(n=Count("id"))
        .values_list("flag", "n")
    )
    for flag in (Flag.PENDING, Flag.SENDING):
        depth.add_metric([flag], counts.get(flag, 0))
    yield depth
    oldest = VerifyRequests.objects.filter(flag=Flag.PENDING, next_attempt_at__lte=now).aggregate(
        due=Min("next_attempt_at")
    )["due"]
    age = GaugeMetricFamily(
        f"{PREFIX}_oldest_due_request_age_seconds",
        "How long the oldest request that is due has waited for a worker (0 when none waits).",
    )
    age.add_metric([], (now - oldest).total_seconds() if oldest else 0.0)
    yield age


def _engines() -> Iterator[GaugeMetricFamily]:
    state = GaugeMetricFamily(
        f"{PREFIX}_breaker_state", "Circuit breaker per engine: 0 closed, 1 half-open, 2 open.", labels=["engine"]
    )
    enabled = GaugeMetricFamily(f"{PREFIX}_engine_enabled", "1 when the engine is enabled.", labels=["engine"])
    credit = GaugeMetricFamily(
        f"{PREFIX}_engine_credit", "The engine's account credit at its last reading.", labels=["engine"]
    )
    threshold = GaugeMetricFamily(
        f"{PREFIX}_engine_credit_threshold", "The engine's low-credit threshold.", labels=["engine"]
    )
    out_of_credit = GaugeMetricFamily(
        f"{PREFIX}_engine_out_of_credit", "1 while the engine is skipped for lack of credit.", labels=["engine"]
    )
    misconfigured = GaugeMetricFamily(
        f"{PREFIX}_engine_configuration_error",
        "1 while the provider refuses the engine's key or template (code: the provider's; empty when none).",
        labels=["engine", "code"],
    )
    fields = ("id", "name", "enabled", "credit", "low_credit_threshold", "out_of_credit", "config_error_code")
    for engine in Engine.objects.only(*fields):
        try:
            current = breaker.breaker_state(engine.id).state
        except Exception:  # the cache is down: the breaker fails open, so it is not stopping traffic
            current = "closed"
        state.add_metric([engine.name], BREAKER_VALUES[current])
        enabled.add_metric([engine.name], 1 if engine.enabled else 0)
        if engine.credit is not None:  # never read: no sample rather than a made-up zero
            credit.add_metric([engine.name], float(engine.credit))
        if engine.low_credit_threshold is not None:
            threshold.add_metric([engine.name], float(engine.low_credit_threshold))
        out_of_credit.add_metric([engine.name], 1 if engine.out_of_credit else 0)
        misconfigured.add_metric([engine.name, engine.config_error_code], 1 if engine.config_error_code else 0)
    yield from (state, enabled, credit, threshold, out_of_credit, misconfigured)


def _routing() -> Iterator[GaugeMetricFamily]:
    labels = ["engine", "operator"]
    score = GaugeMetricFamily(
        f"{PREFIX}_routing_score",
        "The adaptive policy's score per engine and operator: delivered share, smoothed towards 0.9 while evidence "
        "is thin.",
        labels=labels,
    )
    delivered = GaugeMetricFamily(
        f"{PREFIX}_routing_delivered_ratio",
        "Share of recent outcomes per engine and operator that reached the handset (absent before any outcome).",
        labels=labels,
    )
    evidence = GaugeMetricFamily(
        f"{PREFIX}_routing_evidence",
        "Recent outcomes behind the routing score, older ones weighing less.",
        labels=labels,
    )
    for item in routing_scores() or []:  # None: the cache is down, and these gauges have no samples
        score.add_metric([item.engine, item.operator], item.score.value)
        if item.score.delivered_share is not None:
            delivered.add_metric([item.engine, item.operator], item.score.delivered_share)
        evidence.add_metric([item.engine, item.operator], item.score.seen)
    yield from (score, delivered, evidence)
