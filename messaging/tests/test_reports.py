"""The report poller in-process, with the providers' HTTP faked at the aiohttp session (aioresponses).

End to end through a real worker, beat and the simulator: messaging/tests/test_reports_e2e.py.
"""

from __future__ import annotations

import json
import re
import threading
import time
from datetime import timedelta
from typing import Any

import pytest
from aioresponses import CallbackResult
from django.core.cache import cache
from django.db import connection
from django.utils import timezone

from messaging.models import Engine, VerifyRequests
from messaging.services import pump
from messaging.services.reports import reports_poll
from messaging.tests.factories import make_request

pytestmark = pytest.mark.django_db
Delivery = VerifyRequests.Delivery
SMSIR_STATUS = re.compile(r"^http://127\.0\.0\.1:9/smsir/v1/send/(\d+)$")
KAVENEGAR_STATUS = re.compile(r"^http://127\.0\.0\.1:9/kavenegar/v1/[^/]+/sms/status\.json$")


@pytest.fixture(autouse=True)
def no_pump(monkeypatch: pytest.MonkeyPatch) -> None:
    # A pump in a worker process left running by an earlier test would make every run here yield to it.
    monkeypatch.setattr("messaging.services.reports.pump_is_running", lambda: False)


def done(client: Any, engine: Engine, message_id: str, *, age: float = 20, **fields: Any) -> VerifyRequests:
    """A request DONE ``age`` seconds ago whose first look is due, as the dispatcher leaves it."""
    now = timezone.now()
    values: dict[str, Any] = {
        "flag": VerifyRequests.Flag.DONE,
        "system": engine,
        "provider_message_id": message_id,
        "completed_at": now - timedelta(seconds=age),
        "delivery_state": Delivery.PENDING,
        "report_next_at": now - timedelta(seconds=1),
    }
    values.update(fields)
    return make_request(client, phone=f"+98912{message_id.zfill(7)[-7:]}", **values)


def smsir_answer(state: int | None, delivered_at: int | None = None) -> dict[str, Any]:
    data = {"messageId": 1, "deliveryState": state, "deliveryDateTime": delivered_at}
    return {"status": 1, "message": "ok", "data": data}


def kavenegar_answer(statuses: dict[str, int]) -> CallbackResult:
    entries = [{"messageid": int(mid), "status": code, "statustext": "t"} for mid, code in statuses.items()]
    return CallbackResult(status=200, body=json.dumps({"return": {"status": 200, "message": "ok"}, "entries": entries}))


def test_a_delivered_report_ends_polling_with_the_vendors_code_and_time(fake, smsir, api_client_key):
    request = done(api_client_key[0], smsir, "41")
    fake.get(SMSIR_STATUS, payload=smsir_answer(1, 1764660007))

    assert reports_poll() == 1

    request.refresh_from_db()
    assert (request.delivery_state, request.delivery_code, request.report_next_at) == (Delivery.DELIVERED, "1", None)
    assert request.delivered_at is not None and request.delivered_at.timestamp() == 1764660007
    assert request.report_polls == 1


def test_an_undelivered_report_keeps_the_providers_code(fake, kavenegar, api_client_key):
    request = done(api_client_key[0], kavenegar, "77")
    fake.post(KAVENEGAR_STATUS, callback=lambda url, **kw: kavenegar_answer({"77": 11}))

    reports_poll()

    request.refresh_from_db()
    assert (request.delivery_state, request.delivery_code, request.delivered_at) == (Delivery.UNDELIVERED, "11", None)


def test_a_pending_report_backs_off_to_the_next_look(fake, smsir, api_client_key, settings):
    settings.SMS_GATEWAY = {**settings.SMS_GATEWAY, "REPORTS_BACKOFF_SECONDS": [30.0, 120.0]}
    request = done(api_client_key[0], smsir, "5")
    fake.get(SMSIR_STATUS, payload=smsir_answer(5), repeat=True)

    reports_poll()
    request.refresh_from_db()
    first = (request.report_next_at - timezone.now()).total_seconds()
    VerifyRequests.objects.filter(id=request.id).update(report_next_at=timezone.now())
    reports_poll()
    request.refresh_from_db()
    second = (request.report_next_at - timezone.now()).total_seconds()

    assert (request.delivery_state, request.delivery_code, request.report_polls) == (Delivery.PENDING, "5", 2)
    assert 25 < first <= 30 and 115 < second <= 120


def test_kavenegar_is_asked_about_500_messages_per_call(fake, kavenegar, api_client_key):
    asked: list[int] = []

    def answer(url: Any, **kwargs: Any) -> CallbackResult:
        ids = kwargs["data"]["messageid"].split(",")
        asked.append(len(ids))
        return kavenegar_answer(dict.fromkeys(ids, 10))

    for number in range(1, 1001):
        done(api_client_key[0], kavenegar, str(number))
    fake.post(KAVENEGAR_STATUS, callback=answer, repeat=True)

    assert reports_poll() == 1000

    assert sorted(asked) == [500, 500]
    assert VerifyRequests.objects.filter(delivery_state=Delivery.DELIVERED, report_next_at=None).count() == 1000


@pytest.mark.parametrize(
    "answer",
    [
        {"status": 502, "body": "<html>bad gateway</html>"},
        {"status": 200, "body": "garbage"},
        {"exception": TimeoutError()},
    ],
)
def test_a_status_api_down_slow_or_garbled_changes_no_state_and_asks_again_later(fake, smsir, api_client_key, answer):
    request = done(api_client_key[0], smsir, "9")
    fake.get(SMSIR_STATUS, **answer)

    reports_poll()

    request.refresh_from_db()
    assert (request.delivery_state, request.delivery_code, request.delivered_at) == (Delivery.PENDING, "", None)
    assert request.report_next_at is not None and request.report_next_at > timezone.now()


def test_after_48_hours_without_a_final_answer_the_state_is_unknown(fake, smsir, api_client_key):
    request = done(api_client_key[0], smsir, "3", age=48 * 3600 + 1)
    fake.get(SMSIR_STATUS, payload=smsir_answer(3))

    reports_poll()

    request.refresh_from_db()
    assert (request.delivery_state, request.report_next_at) == (Delivery.UNKNOWN, None)


def test_requests_not_yet_due_are_left_alone(fake, smsir, api_client_key):
    request = done(api_client_key[0], smsir, "4", report_next_at=timezone.now() + timedelta(minutes=5))

    assert reports_poll() == 0
    request.refresh_from_db()
    assert request.report_polls == 0


def test_a_busy_pump_comes_first(fake, smsir, api_client_key, monkeypatch):
    monkeypatch.setattr("messaging.services.reports.pump_is_running", pump.pump_is_running)
    request = done(api_client_key[0], smsir, "6")
    cache.set(pump.ALIVE_KEY, 1, timeout=5)

    assert reports_poll() == 0
    request.refresh_from_db()
    assert request.report_polls == 0


def poll_then_close() -> None:
    try:
        reports_poll()
    finally:
        connection.close()


@pytest.mark.django_db(transaction=True)  # the first poller runs on its own thread, with its own connection
def test_a_claimed_request_is_not_polled_by_a_second_poller_meanwhile(fake, smsir, api_client_key):
    request = done(api_client_key[0], smsir, "8")
    inside = threading.Event()
    release = threading.Event()
    claimed_by_second: list[int] = []

    def slow(url: Any, **kwargs: Any) -> CallbackResult:
        inside.set()  # the first poller is waiting on the provider: the second must find nothing to claim
        release.wait(5)
        return CallbackResult(status=200, body=json.dumps(smsir_answer(1)))

    fake.get(SMSIR_STATUS, callback=slow)
    first = threading.Thread(target=poll_then_close)
    first.start()
    assert inside.wait(5)
    claimed_by_second.append(reports_poll())
    release.set()
    first.join(10)

    request.refresh_from_db()
    assert claimed_by_second == [0]
    assert (request.delivery_state, request.report_polls) == (Delivery.DELIVERED, 1)


def test_a_request_waiting_to_be_sent_comes_first(fake, smsir, api_client_key):
    request = done(api_client_key[0], smsir, "10")
    make_request(api_client_key[0])  # PENDING and due: the pump has work, the poller waits

    assert reports_poll() == 0
    request.refresh_from_db()
    assert request.report_polls == 0


def test_a_late_report_gets_a_short_turn_even_while_sending_is_busy(fake, smsir, api_client_key, settings):
    settings.SMS_GATEWAY = {**settings.SMS_GATEWAY, "REPORTS_MAX_LAG_SECONDS": 60, "REPORTS_BUSY_BATCH": 1}
    late = done(api_client_key[0], smsir, "12", report_next_at=timezone.now() - timedelta(seconds=61))
    also_due = done(api_client_key[0], smsir, "13", report_next_at=timezone.now())
    make_request(api_client_key[0])  # PENDING and due: sending is busy
    fake.get(SMSIR_STATUS, payload=smsir_answer(1), repeat=True)

    assert reports_poll() == 1  # the busy turn's batch: the late one first, nothing more
    late.refresh_from_db()
    also_due.refresh_from_db()
    assert (late.delivery_state, also_due.delivery_state) == (Delivery.DELIVERED, Delivery.PENDING)
    assert reports_poll() == 0  # nothing late any more: sending comes first again


def test_a_run_waits_for_a_slow_status_api_at_most_its_budget(fake, smsir, api_client_key, settings):
    settings.SMS_GATEWAY = {**settings.SMS_GATEWAY, "REPORTS_BUDGET_SECONDS": 0.5}
    request = done(api_client_key[0], smsir, "11")

    def slow(url: Any, **kwargs: Any) -> CallbackResult:
        time.sleep(1.5)
        return CallbackResult(status=200, body=json.dumps(smsir_answer(1)))

    fake.get(SMSIR_STATUS, callback=slow)
    started = time.monotonic()
    reports_poll()
    elapsed = time.monotonic() - started

    request.refresh_from_db()
    assert elapsed < 1.4
    assert (request.delivery_state, request.report_polls) == (Delivery.PENDING, 1)
    assert request.report_next_at is not None and request.report_next_at > timezone.now()
    time.sleep(1.2)  # let the call finish on the loop before the fake is removed


def test_a_cache_outage_does_not_stop_the_poller(fake, smsir, api_client_key, monkeypatch):
    def down() -> bool:
        raise ConnectionError("cache down")

    monkeypatch.setattr("messaging.services.reports.pump_is_running", down)
    request = done(api_client_key[0], smsir, "12")
    fake.get(SMSIR_STATUS, payload=smsir_answer(1))

    assert reports_poll() == 1
    request.refresh_from_db()
    assert request.delivery_state == Delivery.DELIVERED
