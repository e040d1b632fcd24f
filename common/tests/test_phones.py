"""normalize_phone: every form an Iranian user types becomes E.164, or InvalidPhone."""

from __future__ import annotations

import phonenumbers
import pytest
from phonenumbers import carrier

from common import phones
from common.phones import InvalidPhone, national_format, normalize_phone, phone_operator, to_ascii_digits
from common.tests.phone_forms import PHONE_FORMS

E164 = "+989121234567"


@pytest.mark.parametrize(
    "raw",
    [
        *PHONE_FORMS,
        " 09121234567 ",
        "(0912) 123 4567",
        "0912.123.4567",
        "\u200c".join(["۰۹۱۲", "۱۲۳", "۴۵۶۷"]),
        "\u200e09121234567",
        "0912\t123\n4567",
    ],
)
def test_normalize_phone_accepts_every_typed_form(raw: str) -> None:
    assert normalize_phone(raw) == E164


@pytest.mark.parametrize("raw", ["09351234567", "09901234567", "09011234567", "09191234567"])
def test_normalize_phone_accepts_mobile_ranges_of_every_operator(raw: str) -> None:
    assert normalize_phone(raw) == "+98" + raw[1:]


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "abc",
        "0912abc4567",
        "0912",
        "0912123456",
        "091212345678",
        "++989121234567",
        "+98+9121234567",
        "0912_123_4567",
        "02112345678",
        "+982112345678",
        "+14155552671",
        "004915123456789",
        "1" * 40,
    ],
)
def test_normalize_phone_refuses_what_is_not_an_iranian_mobile(raw: str) -> None:
    with pytest.raises(InvalidPhone):
        normalize_phone(raw)


def test_normalize_phone_accepts_foreign_mobile_only_when_its_region_is_allowed() -> None:
    assert normalize_phone("+4915123456789", allowed_regions=("IR", "DE")) == "+4915123456789"
    with pytest.raises(InvalidPhone):
        normalize_phone("+4915123456789", allowed_regions=("IR",))


def test_invalid_phone_message_does_not_echo_the_number() -> None:
    with pytest.raises(InvalidPhone) as caught:
        normalize_phone("02112345678")

    assert "2112345678" not in str(caught.value)


def test_to_ascii_digits_converts_persian_and_arabic_indic_digits() -> None:
    assert to_ascii_digits("۰۱۲۳۴۵۶۷۸۹ ٠١٢٣٤٥٦٧٨٩") == "0123456789 0123456789"


def test_national_format_is_the_zero_prefixed_form() -> None:
    assert national_format(E164) == "09121234567"


@pytest.mark.parametrize(
    ("e164", "operator"),
    [
        ("+989121234567", "IR-MCI"),
        ("+989901234567", "IR-MCI"),
        ("+989351234567", "Irancell"),
        ("+989011234567", "Irancell"),
        ("+989211234567", "Rightel"),
        ("+447700900123", ""),
    ],
)
def test_phone_operator_names_the_operator_from_phonenumbers_carrier_data(e164: str, operator: str) -> None:
    assert phone_operator(e164) == operator == carrier.name_for_number(phonenumbers.parse(e164), "en")


def test_phone_operator_looks_each_carrier_prefix_up_once(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    monkeypatch.setattr(phones, "_operators", {})
    real = carrier.name_for_number

    def counted(number: phonenumbers.PhoneNumber, lang: str) -> str:
        calls.append(lang)
        return real(number, lang)

    monkeypatch.setattr(carrier, "name_for_number", counted)

    names = {phone_operator(f"+98912{index:07d}") for index in range(0, 10_000_000, 99_991)}

    assert names == {"IR-MCI"} and len(calls) == 1
    assert phone_operator("+989351234567") == "Irancell" and len(calls) == 2
