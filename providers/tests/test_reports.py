"""Delivery reports and credit: each vendor's wire format, its code table, and the base's call algorithm
with HTTP faked at the aiohttp session (aioresponses)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import TypeVar

import aiohttp
import pytest
from aioresponses import aioresponses

from providers.base import EngineConfig, Message, Outcome
from providers.exceptions import AccountProblem, TryNextProvider
from providers.kavenegar import KavenegarAdapter
from providers.reporting import DeliveryReport, DeliveryState
from providers.smsir import SmsIrAdapter
from providers.tests.payloads import load

T = TypeVar("T")
SMSIR = SmsIrAdapter(EngineConfig("https://api.sms.ir/", "the-key", connect_timeout=1, read_timeout=1))
KAVENEGAR = KavenegarAdapter(EngineConfig("https://api.kavenegar.com", "KEY-1", connect_timeout=1, read_timeout=1))
MESSAGES = {
    "smsir": (SMSIR, Message("+989121234567", "100", {"CODE": "1234"})),
    "kavenegar": (KAVENEGAR, Message("+989121234567", "verify", {"token": "1234"})),
}


def run(call: Callable[[aiohttp.ClientSession], Awaitable[T]]) -> T:
    async def main() -> T:
        async with aiohttp.ClientSession() as session:
            return await call(session)

    return asyncio.run(main())


# --- SMS.IR ------------------------------------------------------------------------------------------


def test_smsir_status_request_asks_about_one_message_by_its_id() -> None:
    request = SMSIR.build_status_request(["89545112"])

    assert (request.method, request.url) == ("GET", "https://api.sms.ir/v1/send/89545112")
    assert request.headers == {"x-api-key": "the-key", "Accept": "application/json"}
    assert (request.json, request.form) == (None, None)
    assert SMSIR.status_batch_size == 1


@pytest.mark.parametrize(
    ("fixture", "state", "code"),
    [
        ("status_delivered", DeliveryState.DELIVERED, "1"),
        ("status_undelivered", DeliveryState.UNDELIVERED, "2"),
        ("status_at_operator", DeliveryState.PENDING, "5"),
        ("status_blacklisted", DeliveryState.BLOCKED, "7"),
    ],
)
def test_smsir_delivery_states_map_through_the_table(fixture: str, state: DeliveryState, code: str) -> None:
    [report] = SMSIR.parse_status_response(*load("smsir", fixture), ["89545112"])

    assert (report.message_id, report.state, report.code) == ("89545112", state, code)
    assert report.text


def test_smsir_delivered_report_carries_the_vendors_delivery_time() -> None:
    [report] = SMSIR.parse_status_response(*load("smsir", "status_delivered"), ["89545112"])

    assert report.delivered_at == datetime.fromtimestamp(1764660007, tz=UTC)


def test_an_undocumented_code_stays_pending_rather_than_guessing_a_final_state() -> None:
    body = b'{"status": 1, "message": "ok", "data": {"deliveryState": 99}}'

    [report] = SMSIR.parse_status_response(200, body, ["5"])

    assert (report.state, report.code) == (DeliveryState.PENDING, "99")


def test_smsir_credit_is_the_envelopes_data() -> None:
    assert SMSIR.parse_credit_response(*load("smsir", "credit")) == Decimal("6000.5")
    request = SMSIR.build_credit_request()
    assert (request.method, request.url) == ("GET", "https://api.sms.ir/v1/credit")


# --- Kavenegar ---------------------------------------------------------------------------------------


def test_kavenegar_status_request_asks_about_up_to_500_ids_in_one_call() -> None:
    request = KAVENEGAR.build_status_request(["1", "2", "3"])

    assert (request.method, request.url) == ("POST", "https://api.kavenegar.com/v1/KEY-1/sms/status.json")
    assert request.form == {"messageid": "1,2,3"}
    assert KAVENEGAR.status_batch_size == 500


def test_kavenegar_entries_map_through_the_table_with_the_vendors_text() -> None:
    ids = ["8792343", "8792344", "8792345", "8792346", "8792347"]

    reports = KAVENEGAR.parse_status_response(*load("kavenegar", "status"), ids)

    assert [(r.message_id, r.state, r.code) for r in reports] == [
        ("8792343", DeliveryState.DELIVERED, "10"),
        ("8792344", DeliveryState.UNDELIVERED, "11"),
        ("8792345", DeliveryState.PENDING, "4"),
        ("8792346", DeliveryState.BLOCKED, "14"),
        ("8792347", DeliveryState.UNKNOWN, "100"),
    ]
    assert reports[0].text == "رسیده به گیرنده"


def test_kavenegar_ignores_entries_about_ids_it_was_not_asked_about() -> None:
    reports = KAVENEGAR.parse_status_response(*load("kavenegar", "status"), ["8792344"])

    assert [report.message_id for report in reports] == ["8792344"]


def test_kavenegar_credit_is_remaincredit() -> None:
    assert KAVENEGAR.parse_credit_response(*load("kavenegar", "account_info")) == Decimal(2268180)
    request = KAVENEGAR.build_credit_request()
    assert (request.method, request.url) == ("GET", "https://api.kavenegar.com/v1/KEY-1/account/info.json")


# --- Account problems in the error classification -----------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "fixture", "problem"),
    [
        ("smsir", "error_102", AccountProblem.OUT_OF_CREDIT),
        ("smsir", "error_10", AccountProblem.CONFIGURATION),
        ("smsir", "error_113", AccountProblem.CONFIGURATION),
        ("smsir", "error_14", AccountProblem.CONFIGURATION),  # HTTP 401
        ("smsir", "error_20", None),
        ("smsir", "html_500", None),
        ("kavenegar", "error_418", AccountProblem.OUT_OF_CREDIT),
        ("kavenegar", "error_403", AccountProblem.CONFIGURATION),
        ("kavenegar", "error_424", AccountProblem.CONFIGURATION),
        ("kavenegar", "error_451", None),
    ],
)
def test_codes_that_need_an_operator_say_so(kind: str, fixture: str, problem: AccountProblem | None) -> None:
    adapter = MESSAGES[kind][0]

    with pytest.raises(TryNextProvider) as caught:
        adapter.parse_response(*load(kind, fixture))

    assert caught.value.problem is problem


def test_an_unreadable_401_is_a_configuration_problem() -> None:
    with pytest.raises(TryNextProvider) as caught:
        SMSIR.parse_response(401, b"<html>Unauthorized</html>")

    assert (caught.value.code, caught.value.problem) == ("http_401", AccountProblem.CONFIGURATION)


# --- The base's algorithm, HTTP faked at the session ---------------------------------------------------


def test_send_result_carries_the_account_problem() -> None:
    adapter, message = MESSAGES["kavenegar"]
    with aioresponses() as fake:
        fake.post(re.compile(r".*/verify/lookup\.json"), status=418, body=load("kavenegar", "error_418")[1])
        result = run(lambda session: adapter.send(session, message))

    assert (result.outcome, result.error_code, result.problem) == (
        Outcome.TRY_NEXT,
        "418",
        AccountProblem.OUT_OF_CREDIT,
    )


def test_fetch_status_returns_the_reports() -> None:
    with aioresponses() as fake:
        fake.post("https://api.kavenegar.com/v1/KEY-1/sms/status.json", status=200, body=load("kavenegar", "status")[1])
        result = run(lambda session: KAVENEGAR.fetch_status(session, ["8792343"]))

    assert result.error_code == ""
    assert result.reports == (DeliveryReport("8792343", DeliveryState.DELIVERED, "10", "رسیده به گیرنده"),)


@pytest.mark.parametrize(
    ("status", "body", "code"),
    [(502, b"<html>bad gateway</html>", "http_502"), (200, b"oops", "bad_response"), (200, b"{}", "bad_response")],
)
def test_a_status_api_that_answers_garbage_reports_nothing(status: int, body: bytes, code: str) -> None:
    with aioresponses() as fake:
        fake.get("https://api.sms.ir/v1/send/7", status=status, body=body)
        result = run(lambda session: SMSIR.fetch_status(session, ["7"]))

    assert (result.reports, result.error_code) == ((), code)


def test_a_status_api_that_is_down_reports_nothing() -> None:
    with aioresponses() as fake:
        fake.get("https://api.sms.ir/v1/send/7", exception=aiohttp.ClientConnectorError(None, OSError("refused")))  # type: ignore[arg-type]
        result = run(lambda session: SMSIR.fetch_status(session, ["7"]))

    assert (result.reports, result.error_code) == ((), "connect_error")


def test_a_status_api_that_is_slow_times_out_and_reports_nothing() -> None:
    with aioresponses() as fake:
        fake.get("https://api.sms.ir/v1/send/7", exception=TimeoutError())
        result = run(lambda session: SMSIR.fetch_status(session, ["7"]))

    assert (result.reports, result.error_code) == ((), "timeout")


def test_fetch_credit_returns_the_credit_or_the_problem() -> None:
    with aioresponses() as fake:
        fake.get("https://api.sms.ir/v1/credit", status=200, body=load("smsir", "credit")[1])
        fake.get("https://api.sms.ir/v1/credit", status=401, body=load("smsir", "error_10")[1])
        good = run(SMSIR.fetch_credit)
        bad = run(SMSIR.fetch_credit)

    assert (good.credit, good.error_code) == (Decimal("6000.5"), "")
    assert (bad.credit, bad.error_code, bad.problem) == (None, "10", AccountProblem.CONFIGURATION)


def test_an_error_text_echoing_the_key_is_redacted() -> None:
    body = b'{"return": {"status": 407, "message": "no access for KEY-1"}, "entries": null}'
    with aioresponses() as fake:
        fake.get("https://api.kavenegar.com/v1/KEY-1/account/info.json", status=407, body=body)
        result = run(KAVENEGAR.fetch_credit)

    assert result.error_message == "no access for ***"
