"""One number, one spelling: every way of writing a number gives the same ASCII E.164, or InvalidPhone.

Every Unicode decimal digit (category Nd, all scripts) is tried at every position, and hypothesis mixes
scripts, spaces, dashes, bidi marks and prefixes.
"""

from __future__ import annotations

import re
import sys
import unicodedata

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from common.phones import E164_PATTERN, MAX_SPELLING_LENGTH, InvalidPhone, normalize_phone

E164 = re.compile(E164_PATTERN)
# Every decimal digit of every script, by value.
DIGITS: dict[int, list[str]] = {value: [] for value in range(10)}
for _codepoint in range(sys.maxunicode + 1):
    if unicodedata.category(chr(_codepoint)) == "Nd":
        DIGITS[unicodedata.decimal(chr(_codepoint))].append(chr(_codepoint))
SPACES = " \t\u00a0\u2007\u2009\u202f\u3000"
DASHES = "-\u2010\u2011\u2012\u2013\u2014\u2015\u2e3a\ufe58\ufe63\uff0d"
# LRM, RLM, ALM, the embeddings and overrides, the isolates; then zero-width space, joiners, word joiner, BOM.
BIDI_MARKS = "\u200e\u200f\u061c\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
INVISIBLE = "\u200b\u200c\u200d\u2060\ufeff"
SEPARATORS = SPACES + DASHES + BIDI_MARKS + INVISIBLE
PREFIXES = ["0", "", "+98", "0098", "98", "\uff0b98"]
# Ranges in which every 7-digit subscriber number is a valid mobile (phonenumbers metadata).
OPERATORS = ["901", "903", "912", "919", "921", "930", "933", "935", "936", "939", "990", "991"]


def outcome(text: str, regions: tuple[str, ...] = ("IR",)) -> str:
    try:
        return normalize_phone(text, allowed_regions=regions)
    except InvalidPhone:
        return "invalid_phone"


def test_every_script_has_its_ten_digits() -> None:
    assert all(len(chars) == len(DIGITS[0]) > 60 for chars in DIGITS.values())


def test_every_decimal_digit_at_every_position_reads_as_its_ascii_digit() -> None:
    ascii_number = "09121234567"
    for position in range(len(ascii_number)):
        for value, chars in DIGITS.items():
            expected = outcome(ascii_number[:position] + str(value) + ascii_number[position + 1 :])
            for char in chars:
                spelled = ascii_number[:position] + char + ascii_number[position + 1 :]
                assert outcome(spelled) == expected, (position, f"U+{ord(char):04X}")


@st.composite
def national_numbers(draw: st.DrawFn) -> str:
    return draw(st.sampled_from(OPERATORS)) + draw(st.from_regex(r"[0-9]{7}", fullmatch=True))


@st.composite
def spellings(draw: st.DrawFn, digits: str) -> str:
    """``digits`` (ASCII, maybe with a leading +) with each digit in any script and separators anywhere."""
    parts = [draw(st.text(alphabet=SEPARATORS, max_size=2))]
    for char in digits:
        parts.append(draw(st.sampled_from(DIGITS[int(char)])) if char.isdigit() else char)
        parts.append(draw(st.text(alphabet=SEPARATORS, max_size=2)))
    return "".join(parts)


@settings(deadline=None)  # a busy CI machine must not turn a slow example into a failure
@given(data=st.data(), national=national_numbers(), prefix=st.sampled_from(PREFIXES))
def test_every_spelling_of_an_iranian_mobile_is_one_ascii_e164(data: st.DataObject, national: str, prefix: str) -> None:
    expected = normalize_phone("0" + national)
    plus = prefix[:1] if prefix[:1] in "+\uff0b" and prefix else ""
    spelled = plus + data.draw(spellings(prefix[len(plus) :] + national))
    assume(len(spelled) <= MAX_SPELLING_LENGTH)
    assert normalize_phone(spelled) == expected == "+98" + national


@settings(deadline=None)
@given(data=st.data(), prefix=st.sampled_from(["+", "00", "\uff0b"]))
def test_every_spelling_of_a_foreign_mobile_is_one_ascii_e164(data: st.DataObject, prefix: str) -> None:
    plus = "" if prefix == "00" else prefix
    spelled = plus + data.draw(spellings(("00" if prefix == "00" else "") + "4915123456789"))
    assume(len(spelled) <= MAX_SPELLING_LENGTH)
    assert normalize_phone(spelled, allowed_regions=("IR", "DE")) == "+4915123456789"


@settings(deadline=None)
@given(
    st.text(
        alphabet=st.one_of(
            st.sampled_from("+0123456789" + SEPARATORS),
            st.characters(categories=["Nd", "No", "Zs", "Pd", "Cf", "Sm", "Lo"]),
        ),
        max_size=40,
    )
)
def test_any_text_is_an_ascii_e164_that_normalises_to_itself_or_invalid_phone(text: str) -> None:
    result = outcome(text, ("IR", "DE", "US", "GB"))
    if result != "invalid_phone":
        assert E164.fullmatch(result) and result.isascii()
        assert normalize_phone(result, allowed_regions=("IR", "DE", "US", "GB")) == result


@pytest.mark.parametrize(
    "raw",
    [
        "09121234567\u00b2",  # superscript two: a digit (No), not a decimal digit (Nd)
        "0912123456\u2466",  # circled seven
        "0912123456\u0667\u00b9",
        "0912\u2212123\u22124567",  # minus signs are not dashes
        "+98" + "\u200e" * MAX_SPELLING_LENGTH + "9121234567",
    ],
)
def test_what_is_no_decimal_digit_or_separator_is_refused(raw: str) -> None:
    with pytest.raises(InvalidPhone):
        normalize_phone(raw)
