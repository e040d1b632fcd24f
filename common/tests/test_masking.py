"""Masking phone numbers, codes and provider keys in logs and Sentry events."""

from __future__ import annotations

import logging

import pytest

from common.masking import MaskingFilter, mask_phone, mask_text, scrub_event
from common.tests.phone_forms import PHONE_FORMS

MASKED = "0912***4567"


@pytest.mark.parametrize("phone", ["+989121234567", "09121234567", "989121234567", "00989121234567", "9121234567"])
def test_mask_phone_keeps_prefix_and_last_four_digits(phone: str) -> None:
    assert mask_phone(phone) == MASKED


@pytest.mark.parametrize("value", ["", "not a phone", "12345"])
def test_mask_phone_hides_everything_it_cannot_parse(value: str) -> None:
    assert mask_phone(value) == "***"


@pytest.mark.parametrize("phone", PHONE_FORMS)
def test_mask_text_masks_phones_in_free_text(phone: str) -> None:
    masked = mask_text(f"sending to {phone} now, phone={phone}.")

    assert masked == f"sending to {MASKED} now, phone={MASKED}."


def test_mask_text_masks_several_phones_and_leaves_other_numbers() -> None:
    text = "request 42 from 09121234567 and +989351234567 took 1200 ms"

    assert mask_text(text) == "request 42 from 0912***4567 and 0935***4567 took 1200 ms"


def test_mask_text_leaves_longer_digit_runs_alone() -> None:
    assert mask_text("order 1234509121234567890") == "order 1234509121234567890"


def test_mask_text_masks_the_key_in_kavenegar_urls() -> None:
    url = "POST https://api.kavenegar.com/v1/4A6B-SECRET-KEY/verify/lookup.json failed"

    masked = mask_text(url)

    assert "4A6B-SECRET-KEY" not in masked
    assert masked == "POST https://api.kavenegar.com/v1/***/verify/lookup.json failed"


def test_scrub_event_masks_nested_token_values_and_phones() -> None:
    event = {
        "message": "delivery to 09121234567 failed",
        "request": {
            "data": {"phone": "09121234567", "template_id": 1, "token_value": {"code": "123456"}},
            "headers": {"Authorization": "Token client-secret", "X-API-KEY": "smsir-secret"},
        },
        "exception": {
            "values": [{"stacktrace": {"frames": [{"vars": {"tokens": {"code": "654321"}, "code": "777777", "n": 3}}]}}]
        },
        "breadcrumbs": {"values": [{"data": {"url": "https://api.kavenegar.com/v1/KAVE-KEY/verify/lookup.json"}}]},
        "extra": {"attempts": [("to", "+989121234567")]},
    }

    scrubbed = scrub_event(event)

    flat = repr(scrubbed)
    for secret in ("123456", "654321", "777777", "client-secret", "smsir-secret", "KAVE-KEY", "9121234567"):
        assert secret not in flat
    assert scrubbed["request"]["data"]["phone"] == MASKED
    assert scrubbed["request"]["data"]["token_value"] == "***"
    assert scrubbed["request"]["data"]["template_id"] == 1
    assert scrubbed["exception"]["values"][0]["stacktrace"]["frames"][0]["vars"]["n"] == 3
    assert scrubbed["extra"]["attempts"] == [("to", MASKED)]


def test_scrub_event_returns_the_event_for_sentry() -> None:
    assert scrub_event({"level": "error"}, hint={}) == {"level": "error"}


def test_masking_filter_masks_a_log_records_args() -> None:
    record = logging.LogRecord(
        "messaging", logging.INFO, __file__, 1, "sent %s via %s", ("+989121234567", "/v1/KEY123/verify"), None
    )

    assert MaskingFilter().filter(record) is True
    assert record.getMessage() == f"sent {MASKED} via /v1/***/verify"


def test_masking_filter_masks_a_log_records_message() -> None:
    record = logging.LogRecord("messaging", logging.INFO, __file__, 1, "to 09121234567", None, None)

    MaskingFilter().filter(record)

    assert record.getMessage() == f"to {MASKED}"


def test_masking_filter_masks_what_a_handler_writes(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("masking-test")
    logger.addFilter(MaskingFilter())
    try:
        with caplog.at_level(logging.INFO, logger="masking-test"):
            logger.info("phone %s code sent", "09121234567")
    finally:
        logger.filters.clear()

    assert caplog.messages == [f"phone {MASKED} code sent"]


def test_masking_filter_lets_a_broken_format_string_through() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "%d items", ("many",), None)

    assert MaskingFilter().filter(record) is True
