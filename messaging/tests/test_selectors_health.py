"""The provider-health figures: per engine over the last hour and day, hourly series, per operator."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from django.test import override_settings
from django.utils import timezone

from clients.models import Client
from clients.services import client_create
from messaging import breaker
from messaging.models import Attempt, Engine, VerifyRequests
from messaging.selectors_health import LATENCY_BOUNDS_MS, bucket_quantile, provider_health
from messaging.tests.factories import make_attempt, make_engine, make_request

Outcome = Attempt.Outcome


@pytest.fixture
def now() -> datetime:
    return timezone.now().replace(microsecond=0)


@pytest.fixture
def engines(db: Any) -> tuple[Engine, Engine]:
    return make_engine(name="smsir", priority=10), make_engine(name="kavenegar", kind="kavenegar", priority=20)


def attempt(engine: Engine, at: datetime, *, phone: str = "+989121234567", **fields: Any) -> Attempt:
    sender = Client.objects.filter(name="backend").first() or client_create(name="backend")[0]
    request = make_request(sender, phone=phone, operator=fields.pop("operator", "IR-MCI"), created_at=at)
    return make_attempt(request, engine, created_at=at, **fields)


def test_engine_figures_count_the_last_hour_and_day_and_leave_older_calls_out(
    engines: tuple[Engine, Engine], now: datetime
) -> None:
    smsir, kavenegar = engines
    attempt(smsir, now - timedelta(minutes=10), latency_ms=40)
    attempt(smsir, now - timedelta(hours=3), latency_ms=60)
    attempt(smsir, now - timedelta(hours=5), outcome=Outcome.FAILED, error_code="5xx", latency_ms=900)
    attempt(smsir, now - timedelta(hours=6), outcome=Outcome.SKIPPED, latency_ms=None)
    attempt(smsir, now - timedelta(hours=30), latency_ms=20)  # older than a day
    attempt(kavenegar, now - timedelta(minutes=5), outcome=Outcome.TIMEOUT, latency_ms=5000)

    health = provider_health(now=now)

    first, second = health.engines
    assert (first.engine, first.sent_last_hour, first.sent_last_day, first.called_last_day) == (smsir, 1, 2, 3)
    assert first.success_share == pytest.approx(2 / 3)
    assert (second.engine, second.sent_last_day, second.called_last_day, second.success_share) == (kavenegar, 0, 1, 0)
    assert 30 <= (first.latency_p50_ms or 0) <= 75
    assert 750 <= (first.latency_p95_ms or 0) <= 1000


def test_each_engine_shows_its_last_error_and_breaker_state(engines: tuple[Engine, Engine], now: datetime) -> None:
    smsir, kavenegar = engines
    attempt(smsir, now - timedelta(days=3), outcome=Outcome.FAILED, error_code="old", error_message="older")
    attempt(
        smsir,
        now - timedelta(hours=2),
        outcome=Outcome.FAILED,
        error_code="http_503",
        error_message="+989121234567 down",
    )
    attempt(smsir, now - timedelta(hours=1))
    for _ in range(5):
        breaker.breaker_record(kavenegar.id, healthy=False)

    first, second = provider_health(now=now).engines

    assert (first.last_error_code, first.last_error_message) == ("http_503", "0912***4567 down")
    assert first.last_error_at == now - timedelta(hours=2)
    assert first.breaker is not None and first.breaker.state == "closed"
    assert (second.last_error_code, second.last_error_at) == ("", None)
    assert second.breaker is not None and second.breaker.state == "open"


def test_hourly_series_put_each_call_in_its_hour_and_leave_empty_hours_at_zero(
    engines: tuple[Engine, Engine], now: datetime
) -> None:
    smsir, _ = engines
    attempt(smsir, now - timedelta(hours=2), latency_ms=100)
    attempt(smsir, now - timedelta(hours=2), latency_ms=100)
    attempt(smsir, now - timedelta(hours=2), outcome=Outcome.FAILED, latency_ms=300)

    series = provider_health(now=now).series

    slot = series.hours.index(timezone.localtime(now - timedelta(hours=2)).replace(minute=0, second=0))
    assert len(series.hours) == 25  # the partial hour a day ago, 23 whole ones, and the current one
    assert series.sent["smsir"][slot] == 2 and sum(v or 0 for v in series.sent["smsir"]) == 2
    assert series.failed["smsir"][slot] == 1
    assert 300 <= (series.latency_p95_ms["smsir"][slot] or 0) <= 500  # the failed call is the slowest
    assert series.sent["kavenegar"] == [0] * 25 and set(series.latency_p95_ms["kavenegar"]) == {None}


@override_settings(TIME_ZONE="Asia/Tehran")
def test_hours_are_the_configured_time_zones_hours(engines: tuple[Engine, Engine]) -> None:
    smsir, _ = engines
    now = datetime(2026, 11, 30, 12, 40, tzinfo=timezone.get_fixed_timezone(0))
    attempt(smsir, datetime(2026, 11, 30, 10, 40, tzinfo=timezone.get_fixed_timezone(0)))  # 14:10 in Tehran

    series = provider_health(now=now).series

    labels = [f"{hour:%H:%M}" for hour in series.hours]
    assert labels[-1] == "16:00"  # 12:40 UTC is 16:10 in Tehran (UTC+03:30)
    assert series.sent["smsir"][labels.index("14:00")] == 1


def test_operator_share_is_per_operator_and_engine(engines: tuple[Engine, Engine], now: datetime) -> None:
    smsir, kavenegar = engines
    attempt(smsir, now - timedelta(hours=1), operator="IR-MCI")
    attempt(smsir, now - timedelta(hours=1), operator="IR-MCI", outcome=Outcome.FAILED)
    attempt(smsir, now - timedelta(hours=1), phone="+989351234567", operator="Irancell")
    attempt(kavenegar, now - timedelta(hours=1), operator="Irancell", outcome=Outcome.REJECTED)

    shares = {(row.operator, row.engine): (row.accepted, row.called) for row in provider_health(now=now).operators}

    assert shares == {("IR-MCI", "smsir"): (1, 2), ("Irancell", "smsir"): (1, 1), ("Irancell", "kavenegar"): (0, 1)}


def test_delivery_share_counts_known_reports_per_engine_and_operator(
    engines: tuple[Engine, Engine], now: datetime
) -> None:
    smsir, kavenegar = engines
    states = [(smsir, "IR-MCI", "delivered"), (smsir, "IR-MCI", "undelivered"), (smsir, "IR-MCI", "pending")]
    states += [(smsir, "Irancell", "delivered"), (kavenegar, "Irancell", "blocked"), (kavenegar, "Irancell", "unknown")]
    for engine, operator, state in states:
        sent = attempt(engine, now - timedelta(hours=1), operator=operator)
        VerifyRequests.objects.filter(id=sent.request_id).update(flag="DONE", system=engine, delivery_state=state)

    health = provider_health(now=now)

    first, second = health.engines
    assert (first.delivered_last_day, first.reported_last_day, first.delivery_share) == (2, 3, pytest.approx(2 / 3))
    assert (second.delivered_last_day, second.reported_last_day, second.delivery_share) == (0, 1, 0)
    shares = {(row.operator, row.engine): (row.delivered, row.reported, row.called) for row in health.operators}
    assert shares == {
        ("IR-MCI", "smsir"): (1, 2, 3),
        ("Irancell", "smsir"): (1, 1, 1),
        ("Irancell", "kavenegar"): (0, 1, 2),
    }


def test_bucket_quantile_interpolates_inside_the_bucket_and_caps_the_open_one() -> None:
    counts = [0] * (len(LATENCY_BOUNDS_MS) + 1)
    counts[1] = 10  # 10 values between 5 and 10 ms

    assert bucket_quantile(0.5, counts) == pytest.approx(7.5)
    assert bucket_quantile(0.5, [0] * len(counts)) is None
    counts[-1] = 1000
    assert bucket_quantile(0.95, counts) == LATENCY_BOUNDS_MS[-1]
