from __future__ import annotations

import pytest

from providers.base import CALL, SMS, EngineConfig, Message
from providers.exceptions import RecipientRejected, TryNextProvider
from providers.kavenegar import KavenegarAdapter
from providers.tests.payloads import error_codes, load

ADAPTER = KavenegarAdapter(EngineConfig("https://api.kavenegar.com", "ABC123", connect_timeout=3, read_timeout=5))


def parse(name: str) -> str:
    return ADAPTER.parse_response(*load("kavenegar", name))


def test_build_request_puts_the_key_in_the_path_and_the_fields_in_a_form() -> None:
    message = Message("+989121234567", "verify", {"token": "1234", "token2": "x"})

    request = ADAPTER.build_request(message)

    assert request.method == "POST"
    assert request.url == "https://api.kavenegar.com/v1/ABC123/verify/lookup.json"
    assert request.headers == {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"}
    assert request.form == {"receptor": "09121234567", "template": "verify", "token": "1234", "token2": "x"}
    assert request.json is None


def test_build_request_sends_every_documented_token_only_when_given() -> None:
    params = {"token": "1", "token2": "2", "token3": "3", "token10": "a b", "token20": "c d"}

    request = ADAPTER.build_request(Message("+989121234567", "verify", params))

    assert request.form == {"receptor": "09121234567", "template": "verify", **params}


def test_a_call_message_asks_for_the_code_to_be_read_out_with_type_call() -> None:
    request = ADAPTER.build_request(Message("+989121234567", "verify", {"token": "4839"}, channel=CALL))

    assert request.form == {"receptor": "09121234567", "template": "verify", "token": "4839", "type": "call"}


def test_an_sms_message_sends_no_type_even_when_a_token_is_mapped_to_it() -> None:
    message = Message("+989121234567", "verify", {"token": "4839", "type": "call"}, channel=SMS)

    request = ADAPTER.build_request(message)

    assert request.form == {"receptor": "09121234567", "template": "verify", "token": "4839"}


def test_kavenegar_carries_texts_and_calls() -> None:
    assert KavenegarAdapter.channels == frozenset({SMS, CALL})


def test_build_request_quotes_a_key_that_would_change_the_url() -> None:
    adapter = KavenegarAdapter(EngineConfig("https://api.kavenegar.com", "a/b?c", 3, 5))

    request = adapter.build_request(Message("+989121234567", "verify", {"token": "1"}))

    assert request.url == "https://api.kavenegar.com/v1/a%2Fb%3Fc/verify/lookup.json"


def test_success_returns_the_message_id_of_the_first_entry() -> None:
    assert parse("success") == "8792343"


def test_error_411_invalid_receptor_rejects_the_recipient() -> None:
    with pytest.raises(RecipientRejected) as caught:
        parse("error_411")

    assert (caught.value.code, caught.value.http_status) == ("411", 411)


@pytest.mark.parametrize("code", [code for code in error_codes("kavenegar") if code != 411])
def test_every_other_documented_code_tries_the_next_provider(code: int) -> None:
    with pytest.raises(TryNextProvider) as caught:
        parse(f"error_{code}")

    assert (caught.value.code, caught.value.http_status, caught.value.timed_out) == (str(code), code, False)
    assert caught.value.message
    assert caught.value.channel_refused is (code == 428)


def test_error_428_a_call_that_cannot_read_the_code_refuses_the_channel_not_the_account() -> None:
    with pytest.raises(TryNextProvider) as caught:
        parse("error_428")

    assert (caught.value.code, caught.value.channel_refused, caught.value.problem) == ("428", True, None)


@pytest.mark.parametrize(
    ("fixture", "code"),
    [
        ("html_500", "http_500"),
        ("html_503", "http_503"),
        ("garbage_200", "bad_response"),
        ("json_without_return_200", "bad_response"),
        ("success_without_entries", "bad_response"),
    ],
)
def test_unreadable_answers_try_the_next_provider(fixture: str, code: str) -> None:
    with pytest.raises(TryNextProvider) as caught:
        parse(fixture)

    assert caught.value.code == code
