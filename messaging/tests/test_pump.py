"""The pump: batch claims, many calls in flight, wake-ups that never pile up."""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.core.cache import cache

from messaging.models import VerifyRequests
from messaging.services import pump
from messaging.tests.conftest import new_request

Flag = VerifyRequests.Flag
pytestmark = pytest.mark.django_db


@pytest.fixture
def fast_pump(settings: Any) -> None:
    settings.SMS_GATEWAY = {**settings.SMS_GATEWAY, "PUMP_IDLE_EXIT_SECONDS": 0.2, "PUMP_BATCH": 20}


def test_pump_delivers_every_due_request_once_with_calls_in_parallel(gateway, api_client_key, fast_pump):
    gateway.fault("all", "latency", latency_ms=200)
    requests = [new_request(api_client_key[0], phone=f"+98912000{i:04d}") for i in range(60)]

    claimed = pump.requests_pump(budget_seconds=30)

    assert claimed == 60
    assert set(VerifyRequests.objects.values_list("flag", flat=True)) == {Flag.DONE}
    received = gateway.received("smsir")
    assert sorted(r["mobile"] for r in received) == sorted(r.phone for r in requests)
    # 60 calls of 200 ms each, at most 20 claimed at a time: far less than 60 x 200 ms when parallel.
    span = max(r["received_at"] for r in received) - min(r["received_at"] for r in received)
    assert span < 3.0


def test_pump_fails_over_like_a_single_delivery(gateway, api_client_key, fast_pump):
    gateway.fault("smsir", "http500")
    request = new_request(api_client_key[0])
    pump.requests_pump(budget_seconds=10)
    request.refresh_from_db()
    assert (request.flag, request.system.name, request.tries) == (Flag.DONE, "kavenegar", 2)


def test_pump_clears_its_alive_mark_when_it_stops(gateway, api_client_key, fast_pump):
    new_request(api_client_key[0])
    pump.requests_pump(budget_seconds=10)
    assert not pump.pump_is_running()


def test_wake_publishes_at_most_once_a_second_and_not_while_a_pump_runs(monkeypatch):
    published: list[int] = []
    monkeypatch.setattr(pump, "publish_wakeup", lambda: published.append(1) or True)

    for _ in range(50):
        pump.pump_wake()
    assert len(published) == 1

    cache.delete(pump.WAKE_KEY)
    cache.set(pump.ALIVE_KEY, 1, timeout=5)
    pump.pump_wake()
    assert len(published) == 1


def test_accepting_a_request_wakes_a_pump_after_commit(api, monkeypatch, gateway, django_capture_on_commit_callbacks):
    published: list[int] = []
    monkeypatch.setattr(pump, "publish_wakeup", lambda: published.append(1) or True)
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(
            "/sendsms/", {"phone": "09121234567", "template_id": 1, "token_value": {"code": "1234"}}, format="json"
        )
    assert response.status_code == 202
    assert published == [1]


def test_without_the_pump_each_request_is_published_by_id(
    api, monkeypatch, gateway, settings, django_capture_on_commit_callbacks
):
    from messaging import publishing

    settings.SMS_GATEWAY = {**settings.SMS_GATEWAY, "PUMP_ENABLED": False}
    published: list[list[int]] = []
    monkeypatch.setattr(publishing, "publish_now", lambda ids, countdown=0: published.append(list(ids)) or len(ids))
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(
            "/sendsms/", {"phone": "09121234567", "template_id": 1, "token_value": {"code": "1234"}}, format="json"
        )
    assert published == [[response.json()["id"]]]


def test_pump_keeps_delivering_when_its_cache_mark_cannot_be_written(gateway, api_client_key, fast_pump, monkeypatch):
    def down(*args, **kwargs):
        raise ConnectionError("cache frozen")

    monkeypatch.setattr(pump.cache, "set", down)
    monkeypatch.setattr(pump.cache, "delete", down)
    request = new_request(api_client_key[0])

    assert pump.requests_pump(budget_seconds=10) == 1
    request.refresh_from_db()
    assert request.flag == Flag.DONE


def test_wake_trusts_a_fresh_alive_mark_for_a_moment_without_asking_the_cache_again(monkeypatch):
    published: list[int] = []
    monkeypatch.setattr(pump, "publish_wakeup", lambda: published.append(1) or True)
    cache.set(pump.ALIVE_KEY, 1, timeout=5)
    pump.pump_wake()
    cache.delete(pump.ALIVE_KEY)

    pump.pump_wake()  # the mark seen a moment ago still counts
    assert published == []

    time.sleep(pump.ALIVE_MEMO_SECONDS + 0.05)
    pump.pump_wake()
    assert published == [1]


def test_an_idle_pump_waits_out_the_alive_memo_between_clearing_its_mark_and_its_last_look(
    gateway, fast_pump, monkeypatch
):
    # A request that trusted the mark just before it was cleared is committed before the last look,
    # so the last look claims it: nothing waits for the sweeper.
    events: list[tuple[str, float]] = []
    real_mark, real_claim = pump._mark, pump.requests_claim_due

    def mark(*, alive: bool) -> None:
        events.append((f"mark:{alive}", time.monotonic()))
        real_mark(alive=alive)

    def claim(*, limit: int) -> list[Any]:
        events.append(("claim", time.monotonic()))
        return real_claim(limit=limit)

    monkeypatch.setattr(pump, "_mark", mark)
    monkeypatch.setattr(pump, "requests_claim_due", claim)

    assert pump.requests_pump(budget_seconds=10) == 0

    cleared = next(at for name, at in events if name == "mark:False")
    last_look = [at for name, at in events if name == "claim"][-1]
    assert last_look - cleared >= pump.ALIVE_MEMO_SECONDS


def test_between_claims_results_are_gathered_and_written_together(gateway, api_client_key, monkeypatch):
    from messaging.services import delivery, outcomes

    gateway.fault("all", "latency", latency_ms=100)
    for i in range(6):
        new_request(api_client_key[0], phone=f"+98912000{i:04d}")
    writes: list[int] = []
    real_update_each = delivery.update_each
    for module in (delivery, outcomes):
        monkeypatch.setattr(
            module, "update_each", lambda model, rows: writes.append(len(rows)) or real_update_each(model, rows)
        )
    dispatcher = delivery.Dispatcher()
    dispatcher.start(delivery.requests_claim_due(limit=10))

    assert dispatcher.poll(timeout=5, gather=True) == 6
    assert writes == [6, 6]  # one write of the six attempts, one of the six outcomes
    assert set(VerifyRequests.objects.values_list("flag", flat=True)) == {Flag.DONE}


def test_a_claim_whose_lease_is_too_short_for_a_call_is_given_back_unsent(gateway, api_client_key, settings):
    from messaging.models import Attempt
    from messaging.services.delivery import Dispatcher, requests_claim_due

    # The engines' calls take up to 1 s connect + 0.8 s read + 1 s margin: longer than this lease.
    settings.SMS_GATEWAY = {**settings.SMS_GATEWAY, "LEASE_SECONDS": 2}
    request = new_request(api_client_key[0])
    dispatcher = Dispatcher()
    dispatcher.start(requests_claim_due(limit=10))
    dispatcher.run_until_idle()

    assert gateway.received("smsir") == [] and gateway.received("kavenegar") == []
    request.refresh_from_db()
    assert (request.flag, request.lease_token, request.rounds, request.tries) == (Flag.PENDING, None, 0, 0)
    [attempt] = Attempt.objects.filter(request=request)
    assert (attempt.engine.name, attempt.outcome) == ("smsir", Attempt.Outcome.SKIPPED)
    assert "not started" in attempt.error_message

    # Given back due at once: a claim with a lease long enough sends it.
    settings.SMS_GATEWAY = {**settings.SMS_GATEWAY, "LEASE_SECONDS": 120, "PUMP_IDLE_EXIT_SECONDS": 0.2}
    assert pump.requests_pump(budget_seconds=10) == 1
    request.refresh_from_db()
    assert (request.flag, request.system.name, request.tries) == (Flag.DONE, "smsir", 1)
    assert len(gateway.received("smsir")) == 1
