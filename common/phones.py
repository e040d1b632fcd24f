"""Phone number parsing: everything a client may type becomes one E.164 string or an error."""

from __future__ import annotations

import functools
import re

import phonenumbers
from phonenumbers import PhoneNumberType

# Persian (U+06F0..) and Arabic-Indic (U+0660..) digits are what Iranian keyboards produce.
_DIGITS = str.maketrans("۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩", "01234567890123456789")
_SEPARATORS = re.compile(r"[\s\-().\u200c\u200f\u200e]")
_MOBILE_TYPES = {PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE}
# Nearly every number we see is an Iranian mobile in one of three forms. For those, a match of
# phonenumbers' own pattern for Iranian mobiles gives the answer the full parse would (every 10-digit
# number starting with 9 is possible there, and no earlier number type's pattern takes one that this
# pattern takes), for a tenth of the CPU. Anything else goes the long way.
_IRANIAN_FORMS = re.compile(r"(?:\+98|0)?(9\d{9})")


def _iranian_mobile_pattern() -> re.Pattern[str]:
    metadata = phonenumbers.PhoneMetadata.metadata_for_region("IR")
    assert metadata is not None and metadata.mobile is not None and metadata.mobile.national_number_pattern
    return re.compile(str(metadata.mobile.national_number_pattern))


_IRANIAN_MOBILE = _iranian_mobile_pattern()


class InvalidPhone(ValueError):
    """The text is not a mobile number we can send to. The message never says which check failed."""


def to_ascii_digits(text: str) -> str:
    return text.translate(_DIGITS)


def normalize_phone(raw: str, *, allowed_regions: tuple[str, ...] = ("IR",)) -> str:
    """Return ``raw`` as E.164 (``+989121234567``) or raise :class:`InvalidPhone`."""
    text = _SEPARATORS.sub("", to_ascii_digits(raw or ""))
    iranian = _IRANIAN_FORMS.fullmatch(text)
    if iranian and "IR" in allowed_regions and _IRANIAN_MOBILE.fullmatch(iranian[1]):
        return "+98" + iranian[1]
    if text.startswith("00"):
        text = "+" + text[2:]
    elif text.startswith("98") and len(text) == 12:
        text = "+" + text
    if not re.fullmatch(r"\+?\d{7,15}", text):
        raise InvalidPhone("not a phone number")
    try:
        number = phonenumbers.parse(text, "IR")
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhone("not a phone number") from exc
    region = phonenumbers.region_code_for_number(number)
    if (
        region not in allowed_regions
        or not phonenumbers.is_valid_number(number)
        or phonenumbers.number_type(number) not in _MOBILE_TYPES
    ):
        raise InvalidPhone("not a mobile number we can send to")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


@functools.lru_cache(maxsize=4096)
def e164_parts(e164: str) -> tuple[str, int, str]:
    """``(region, country code, national number)`` of an E.164 string we produced.

    Every accepted send asks twice (allowlist, number-range limit); parsing costs more than the rest of
    those checks, and the same numbers come back (resends, verification checks).
    """
    if e164.startswith("+98"):  # one region has country code 98
        return "IR", 98, e164[3:]
    number = phonenumbers.parse(e164, None)
    return phonenumbers.region_code_for_number(number) or "", number.country_code or 0, str(number.national_number)


def national_format(e164: str) -> str:
    """``+989121234567`` -> ``09121234567``: the form both Iranian providers document."""
    number = phonenumbers.parse(e164, None)
    return "0" + str(number.national_number)
