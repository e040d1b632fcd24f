"""Read paths for the provider-health page: each engine's traffic, latency, delivery and state over the
last day.

Everything comes from grouped scans of the day's attempts (``attempt_created`` index) and of the day's
requests (``vr_created``); each engine's last error is one probe of a partial index. Latency
quantiles are estimated from counts per latency bucket, as Prometheus' ``histogram_quantile`` does, so
the same SQL serves PostgreSQL and SQLite and no latency value leaves the database. The routing scores and
breaker states come from the cache; without it the page still shows everything the database knows.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Case, Count, IntegerField, Q, Value, When
from django.db.models.functions import TruncHour
from django.utils import timezone

from common.masking import mask_text
from messaging import breaker
from messaging.models import Attempt, Engine, VerifyRequests
from messaging.selectors_routing import UNKNOWN, RoutingTable, routing_table

Outcome = Attempt.Outcome
Delivery = VerifyRequests.Delivery
# Reports that say what happened (pending and unknown do not).
KNOWN_DELIVERY = (Delivery.DELIVERED, Delivery.UNDELIVERED, Delivery.BLOCKED, Delivery.FAILED)
# Calls that reached a provider (skipped ones made no call; in-flight ones have no answer yet).
CALLED = (Outcome.SENT, Outcome.FAILED, Outcome.TIMEOUT, Outcome.REJECTED)
NOT_SENT = (Outcome.FAILED, Outcome.TIMEOUT, Outcome.REJECTED)
# Upper bounds (ms) of the latency buckets; the last bucket is open.
LATENCY_BOUNDS_MS = (5, 10, 20, 30, 50, 75, 100, 150, 200, 300, 500, 750, 1000, 1500, 2000, 3000, 5000, 10000, 30000)
WINDOW = timedelta(hours=24)


@dataclass
class EngineHealth:
    engine: Engine
    sent_last_hour: int = 0
    sent_last_day: int = 0
    called_last_day: int = 0
    reported_last_day: int = 0  # requests it sent with a known delivery report
    delivered_last_day: int = 0
    latency_p50_ms: float | None = None
    latency_p95_ms: float | None = None
    breaker: breaker.BreakerState | None = None
    last_error_code: str = ""
    last_error_message: str = ""
    last_error_at: datetime | None = None

    @property
    def success_share(self) -> float | None:
        return self.sent_last_day / self.called_last_day if self.called_last_day else None

    @property
    def delivery_share(self) -> float | None:
        return self.delivered_last_day / self.reported_last_day if self.reported_last_day else None


@dataclass
class HourlySeries:
    """Per engine name, one value per hour slot (``hours``: slot starts in the current time zone)."""

    hours: list[datetime]
    sent: dict[str, list[float | None]] = field(default_factory=dict)
    failed: dict[str, list[float | None]] = field(default_factory=dict)
    latency_p95_ms: dict[str, list[float | None]] = field(default_factory=dict)


@dataclass
class OperatorShare:
    """One operator's numbers at one engine: calls it accepted, and messages it delivered (of those reported)."""

    operator: str
    engine: str
    called: int = 0
    accepted: int = 0
    reported: int = 0
    delivered: int = 0

    @property
    def acceptance_share(self) -> float | None:
        return self.accepted / self.called if self.called else None

    @property
    def delivery_share(self) -> float | None:
        return self.delivered / self.reported if self.reported else None


@dataclass
class ProviderHealth:
    now: datetime
    since: datetime
    engines: list[EngineHealth]
    series: HourlySeries
    operators: list[OperatorShare]
    routing: RoutingTable


def provider_health(*, now: datetime | None = None) -> ProviderHealth:
    now = now or timezone.now()
    since = now - WINDOW
    engines = list(Engine.objects.order_by("priority", "id"))
    health = {engine.id: EngineHealth(engine=engine) for engine in engines}
    series = _empty_series(since, now, engines)
    day_buckets: dict[int, list[int]] = defaultdict(lambda: [0] * (len(LATENCY_BOUNDS_MS) + 1))
    hour_buckets: dict[tuple[int, datetime], list[int]] = defaultdict(lambda: [0] * (len(LATENCY_BOUNDS_MS) + 1))
    slot = {hour: index for index, hour in enumerate(series.hours)}
    names = {engine.id: engine.name for engine in engines}
    for row in _attempt_counts(since, now):
        engine_id, outcome, count = row["engine_id"], row["outcome"], row["n"]
        item, hour = health[engine_id], row["hour"]
        index = slot.get(hour)
        if outcome == Outcome.SENT:
            item.sent_last_day += count
            item.sent_last_hour += count if row["last_hour"] else 0
        item.called_last_day += count
        if index is not None:
            per_hour = series.sent if outcome == Outcome.SENT else series.failed
            per_hour[names[engine_id]][index] = (per_hour[names[engine_id]][index] or 0) + count
        if row["bucket"] is not None:
            day_buckets[engine_id][row["bucket"]] += count
            hour_buckets[engine_id, hour][row["bucket"]] += count
    for engine_id, counts in day_buckets.items():
        health[engine_id].latency_p50_ms = bucket_quantile(0.5, counts)
        health[engine_id].latency_p95_ms = bucket_quantile(0.95, counts)
    for (engine_id, hour), counts in hour_buckets.items():
        if hour in slot:
            series.latency_p95_ms[names[engine_id]][slot[hour]] = bucket_quantile(0.95, counts)
    operators = _operator_acceptance(since)
    for row in _delivery_counts(since):
        item = health[row["system_id"]]
        item.reported_last_day += row["reported"]
        item.delivered_last_day += row["delivered"]
        key = (row["operator"] or UNKNOWN, item.engine.name)
        share = operators.setdefault(key, OperatorShare(*key))
        share.reported, share.delivered = share.reported + row["reported"], share.delivered + row["delivered"]
    for item in health.values():
        item.breaker = _breaker_state(item.engine.id)
        _fill_last_error(item)
    return ProviderHealth(
        now=now,
        since=since,
        engines=list(health.values()),
        series=series,
        operators=sorted(operators.values(), key=_by_operator),
        routing=routing_table(sent={key: share.accepted for key, share in operators.items()}),
    )


def _breaker_state(engine_id: int) -> breaker.BreakerState | None:
    try:
        return breaker.breaker_state(engine_id)
    except Exception:  # the cache is down: this state is unknown, the rest of the page is still worth showing
        return None


def _by_operator(share: OperatorShare) -> tuple[str, str]:
    return share.operator, share.engine


def _attempt_counts(since: datetime, now: datetime) -> list[dict[str, Any]]:
    """Calls of the window by engine, local hour, outcome, latency bucket and whether in the last hour."""
    bucket = Case(
        *(When(latency_ms__lt=bound, then=Value(index)) for index, bound in enumerate(LATENCY_BOUNDS_MS)),
        When(latency_ms__isnull=False, then=Value(len(LATENCY_BOUNDS_MS))),
        default=None,
        output_field=IntegerField(),
    )
    last_hour = Case(When(created_at__gte=now - timedelta(hours=1), then=Value(1)), default=Value(0))
    return list(
        Attempt.objects.filter(created_at__gte=since, outcome__in=CALLED)
        .values("engine_id", "outcome")
        .annotate(hour=TruncHour("created_at"), bucket=bucket, last_hour=last_hour)
        .values("engine_id", "outcome", "hour", "bucket", "last_hour")
        .annotate(n=Count("id"))
        .order_by()
    )


def bucket_quantile(quantile: float, counts: list[int]) -> float | None:
    """The ``quantile`` of values counted per ``LATENCY_BOUNDS_MS`` bucket, interpolated inside its bucket."""
    total = sum(counts)
    if not total:
        return None
    rank, seen = quantile * total, 0
    for index, count in enumerate(counts):
        if count and seen + count >= rank:
            if index == len(LATENCY_BOUNDS_MS):  # the open bucket: its lower bound is all we know
                return float(LATENCY_BOUNDS_MS[-1])
            lower = LATENCY_BOUNDS_MS[index - 1] if index else 0
            return lower + (LATENCY_BOUNDS_MS[index] - lower) * (rank - seen) / count
        seen += count
    return None


def _empty_series(since: datetime, now: datetime, engines: list[Engine]) -> HourlySeries:
    first = timezone.localtime(since).replace(minute=0, second=0, microsecond=0)
    hours, hour = [], first
    while hour <= now:
        hours.append(hour)
        hour = timezone.localtime(hour + timedelta(hours=1))
    series = HourlySeries(hours=hours)
    for engine in engines:
        series.sent[engine.name] = [0] * len(hours)
        series.failed[engine.name] = [0] * len(hours)
        series.latency_p95_ms[engine.name] = [None] * len(hours)
    return series


def _fill_last_error(item: EngineHealth) -> None:
    last = (
        Attempt.objects.filter(~Q(error_code=""), engine=item.engine)
        .order_by("-created_at")
        .values("error_code", "error_message", "created_at")
        .first()
    )
    if last:
        # Providers may quote the number back in their messages.
        item.last_error_code, item.last_error_message = last["error_code"], mask_text(last["error_message"])
        item.last_error_at = last["created_at"]


def _operator_acceptance(since: datetime) -> dict[tuple[str, str], OperatorShare]:
    rows = (
        Attempt.objects.filter(created_at__gte=since, outcome__in=CALLED)
        .values("request__operator", "engine__name")
        .annotate(called=Count("id"), accepted=Count("id", filter=Q(outcome=Outcome.SENT)))
        .order_by()
    )
    shares = {}
    for row in rows:
        key = (row["request__operator"] or UNKNOWN, row["engine__name"])
        shares[key] = OperatorShare(*key, called=row["called"], accepted=row["accepted"])
    return shares


def _delivery_counts(since: datetime) -> list[dict[str, Any]]:
    """Requests of the window with a known delivery report, by the engine that sent them and operator."""
    return list(
        VerifyRequests.objects.filter(created_at__gte=since, delivery_state__in=KNOWN_DELIVERY, system__isnull=False)
        .values("system_id", "operator")
        .annotate(reported=Count("id"), delivered=Count("id", filter=Q(delivery_state=Delivery.DELIVERED)))
        .order_by()
    )
