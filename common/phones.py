"""Phone number parsing: everything a client may type becomes one E.164 string or an error."""

from __future__ import annotations

import functools
import re
import unicodedata

import phonenumbers
from phonenumbers import PhoneNumberType, carrier
from phonenumbers.carrierdata import CARRIER_DATA, CARRIER_LONGEST_PREFIX

# The longest spelling looked at: a number has at most 15 digits, and nobody types it with 50 separators.
MAX_SPELLING_LENGTH = 64
# For text that is all ASCII (nearly every request): what a person types between digit groups.
_ASCII_SEPARATORS = re.compile(r"[\s\-().]")
# Beyond ASCII: every space, dash and invisible format character (bidi marks such as LRM/RLM/ALM and the
# embeddings and isolates, zero-width joiners, BOM), which phones and chat apps insert around numbers.
_SEPARATOR_CATEGORIES = frozenset({"Zs", "Zl", "Zp", "Pd", "Cf"})
_PLUS_SIGNS = frozenset("+\uff0b")
_MOBILE_TYPES = {PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE}
# What is stored: E.164 in ASCII digits only. A database check on every phone column holds every row to it.
E164_PATTERN = r"^\+[1-9][0-9]{6,14}$"
# Nearly every number we see is an Iranian mobile in one of three forms. For those, a match of
# phonenumbers' own pattern for Iranian mobiles gives the answer the full parse would (every 10-digit
# number starting with 9 is possible there, and no earlier number type's pattern takes one that this
# pattern takes), for a tenth of the CPU. Anything else goes the long way.
_IRANIAN_FORMS = re.compile(r"(?:\+98|0)?(9[0-9]{9})")
_INTERNATIONAL = re.compile(r"\+?[0-9]{7,15}")


class _DecimalDigits(dict[int, int]):
    """A ``str.translate`` table from every Unicode decimal digit (category Nd, 60-odd scripts) to its ASCII
    digit. Filled as digits are met: building it whole means walking all of Unicode at import."""

    def __missing__(self, codepoint: int) -> int:
        digit = unicodedata.decimal(chr(codepoint), None)
        if digit is None:
            raise LookupError(codepoint)  # translate() then keeps the character as it is
        self[codepoint] = ord("0") + digit
        return self[codepoint]


_DIGITS = _DecimalDigits((code, code) for code in range(128))  # ASCII stays as it is


def _iranian_mobile_pattern() -> re.Pattern[str]:
    metadata = phonenumbers.PhoneMetadata.metadata_for_region("IR")
    assert metadata is not None and metadata.mobile is not None and metadata.mobile.national_number_pattern
    return re.compile(str(metadata.mobile.national_number_pattern), re.ASCII)


_IRANIAN_MOBILE = _iranian_mobile_pattern()


class InvalidPhone(ValueError):
    """The text is not a mobile number we can send to. The message never says which check failed."""


def to_ascii_digits(text: str) -> str:
    """Every decimal digit of any script (Persian, Arabic-Indic, fullwidth, Devanagari, ...) as ASCII."""
    return text if text.isascii() else text.translate(_DIGITS)


def ascii_spelling(raw: str) -> str:
    """``raw`` with its digits in ASCII and its separators dropped: one text for every spelling of a number.

    Whatever else is left (letters, superscripts, symbols) stays, for the caller's pattern to refuse.
    """
    text = to_ascii_digits(raw)
    if text.isascii():
        return _ASCII_SEPARATORS.sub("", text)
    kept = []
    for char in text:
        if char in _PLUS_SIGNS:
            kept.append("+")
        elif not (char.isspace() or char in "()." or unicodedata.category(char) in _SEPARATOR_CATEGORIES):
            kept.append(char)
    return "".join(kept)


def normalize_phone(raw: str, *, allowed_regions: tuple[str, ...] = ("IR",)) -> str:
    """Return ``raw`` as ASCII E.164 (``+989121234567``) or raise :class:`InvalidPhone`.

    Every spelling of one number gives the same string: rate limits, lookups and the stored rows key on it.
    """
    if len(raw or "") > MAX_SPELLING_LENGTH:
        raise InvalidPhone("not a phone number")
    text = ascii_spelling(raw or "")
    iranian = _IRANIAN_FORMS.fullmatch(text)
    if iranian and "IR" in allowed_regions and _IRANIAN_MOBILE.fullmatch(iranian[1]):
        return "+98" + iranian[1]
    if text.startswith("00"):
        text = "+" + text[2:]
    elif text.startswith("98") and len(text) == 12:
        text = "+" + text
    if not _INTERNATIONAL.fullmatch(text):
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


def phone_operator(e164: str) -> str:
    """The mobile operator ``e164`` (a mobile number we produced) was allocated to, in English
    (``IR-MCI``, ``Irancell``, ``Rightel``), from phonenumbers' carrier data; ``""`` when it has none.

    A ported number keeps its first operator's name: the data knows ranges, not subscribers.
    """
    prefix = _carrier_prefix(e164)
    name = _operators.get(prefix)
    if name is None:
        name = _operators[prefix] = carrier.name_for_number(phonenumbers.parse(e164, None), "en")
    return name


# Every accepted send asks, so each carrier-data prefix is looked up once per process: the data is keyed
# by prefix (23 of them for Iran), so every number under a prefix has that prefix's name. The memo holds
# at most one entry per prefix of the data.
_operators: dict[str, str] = {}


def _carrier_prefix(e164: str) -> str:
    """The longest prefix of the number's digits that the carrier data has (as phonenumbers looks it up)."""
    digits = e164[1 : CARRIER_LONGEST_PREFIX + 1]
    for length in range(len(digits), 0, -1):
        if digits[:length] in CARRIER_DATA:
            return digits[:length]
    return ""
