from __future__ import annotations

import asyncio
from typing import Any, NoReturn, cast

import aiohttp
import pytest

from providers.base import CALL, EngineConfig, Message, Outcome, SendResult
from providers.exceptions import RecipientRejected, TryNextProvider
from providers.smsir import SmsIrAdapter
from providers.tests.payloads import error_codes, load

ADAPTER = SmsIrAdapter(EngineConfig("https://api.sms.ir/", "the-key", connect_timeout=3, read_timeout=5))


def parse(name: str) -> str:
    return ADAPTER.parse_response(*load("smsir", name))


def test_build_request_matches_the_documented_verify_call() -> None:
    message = Message("+989121234567", "123456", {"CODE": "1234", "NAME": "علی"})

    request = ADAPTER.build_request(message)

    assert request.method == "POST"
    assert request.url == "https://api.sms.ir/v1/send/verify"
    assert request.headers == {
        "x-api-key": "the-key",
        "Content-Type": "application/json",
        "Accept": "application/json",
    }
    assert request.json == {
        "mobile": "09121234567",
        "templateId": 123456,
        "parameters": [{"name": "CODE", "value": "1234"}, {"name": "NAME", "value": "علی"}],
    }
    assert request.form is None


def test_build_request_keeps_a_non_numeric_template_id_as_text() -> None:
    request = ADAPTER.build_request(Message("+989121234567", "otp-login", {"CODE": "1"}))

    assert request.json is not None
    assert request.json["templateId"] == "otp-login"


def test_build_request_refuses_a_non_iranian_number_so_another_provider_can_try() -> None:
    with pytest.raises(TryNextProvider) as caught:
        ADAPTER.build_request(Message("+4915112345678", "1", {"CODE": "1"}))

    assert caught.value.code == "unsupported_number"


class _NoNetwork:
    """A session that fails the test if the adapter makes any request."""

    def request(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise AssertionError("no request was expected")


def test_a_call_message_is_refused_as_an_unsupported_channel_without_a_request() -> None:
    message = Message("+989121234567", "100200", {"CODE": "4839"}, channel=CALL)

    result = asyncio.run(ADAPTER.send(cast(aiohttp.ClientSession, _NoNetwork()), message))

    assert result == SendResult(
        Outcome.TRY_NEXT,
        error_code="unsupported_channel",
        error_message="SMS.IR does not carry call messages",
        latency_ms=result.latency_ms,
    )
    assert result.channel_refused is False


def test_success_returns_the_message_id() -> None:
    assert parse("success") == "89545112"


def test_error_104_invalid_mobile_rejects_the_recipient() -> None:
    with pytest.raises(RecipientRejected) as caught:
        parse("error_104")

    assert (caught.value.code, caught.value.http_status) == ("104", 400)


@pytest.mark.parametrize("code", [code for code in error_codes("smsir") if code != 104])
def test_every_other_documented_code_tries_the_next_provider(code: int) -> None:
    status, _ = load("smsir", f"error_{code}")

    with pytest.raises(TryNextProvider) as caught:
        parse(f"error_{code}")

    assert (caught.value.code, caught.value.http_status, caught.value.timed_out) == (str(code), status, False)
    assert caught.value.message


def test_documented_http_statuses_are_recorded_in_the_fixtures() -> None:
    statuses = {code: load("smsir", f"error_{code}")[0] for code in (0, 10, 14, 20, 102, 113)}

    assert statuses == {0: 500, 10: 401, 14: 401, 20: 429, 102: 400, 113: 400}


@pytest.mark.parametrize(
    ("fixture", "code"),
    [
        ("html_500", "http_500"),
        ("html_502", "http_502"),
        ("garbage_200", "bad_response"),
        ("empty_200", "bad_response"),
        ("success_without_message_id", "bad_response"),
    ],
)
def test_unreadable_answers_try_the_next_provider(fixture: str, code: str) -> None:
    with pytest.raises(TryNextProvider) as caught:
        parse(fixture)

    assert caught.value.code == code
