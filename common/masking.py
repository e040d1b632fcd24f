"""Masking of phone numbers, codes and provider keys in logs and Sentry events."""

from __future__ import annotations

import logging
import re
from typing import Any
from urllib.parse import quote, unquote_plus

from common.phones import to_ascii_digits

# Iranian mobile numbers in any of the forms clients send (E.164, 0098, 98, 0-prefixed, bare), typed in
# ASCII, Persian or Arabic-Indic digits, grouped with spaces or dashes or not: a number logged as the
# user typed it must be masked too.
_D, _S = "[0-9\u06f0-\u06f9\u0660-\u0669]", "[ -]?"
_0, _8, _9 = "[0\u06f0\u0660]", "[8\u06f8\u0668]", "[9\u06f9\u0669]"
_PHONE = re.compile(
    rf"(?<!\d)(?:(?:\+{_9}{_8}|{_0}{_0}{_9}{_8}|{_9}{_8}){_S}|{_0})?"
    rf"({_9}{_D}{{2}}){_S}({_D}{{3}}){_S}({_D}{{4}})(?!\d)"
)
# A query parameter that carries a number (``GET /sendsms/?phone=``), however the client encoded it.
_PHONE_PARAM = re.compile(r"([?&]phone=)([^&\s\"]*)", re.IGNORECASE)
# Kavenegar puts the API key in the URL path.
_URL_KEY = re.compile(r"(/v1/)[^/\s]+(/verify)")
_SENSITIVE_KEYS = {
    "token_value",
    "token_values",
    "tokens",
    "code",
    "provider_token",
    "x-api-key",
    "authorization",
    "parameters",
    "token",
    "token2",
    "token3",
    "token10",
    "token20",
    "password",
    "api_key",
    "key",
}


def mask_phone(phone: str) -> str:
    """``+989121234567`` -> ``0912***4567``."""
    match = _PHONE.search(phone or "")
    if not match:
        return "***"
    return _masked(match)


def _masked(match: re.Match[str]) -> str:
    return to_ascii_digits(f"0{match.group(1)}***{match.group(3)}")


def mask_text(text: str) -> str:
    text = _PHONE.sub(_masked, text)
    return _URL_KEY.sub(r"\1***\2", text)


def _scrub(value: Any, depth: int = 0) -> Any:
    if depth > 12:
        return value
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, dict):
        return {
            key: ("***" if str(key).lower() in _SENSITIVE_KEYS else _scrub(item, depth + 1))
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return type(value)(_scrub(item, depth + 1) for item in value)
    return value


def scrub_event(event: Any, hint: Any = None) -> Any:
    """Sentry ``before_send``: mask every phone number, token value and key in the event."""
    return _scrub(event)


class MaskingFilter(logging.Filter):
    """Masks phone numbers and URL keys in every log record, whatever logged it."""

    mask = staticmethod(mask_text)

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string is the caller's bug, not ours to hide
            return True
        record.msg = self.mask(message)
        record.args = None
        return True


def mask_request_line(text: str) -> str:
    """A logged request line or URL with its ``phone=`` parameters masked however they were encoded
    (``%2B98...``, Persian digits as UTF-8 escapes, garbage), and any other number masked as in free text."""
    text = _PHONE_PARAM.sub(
        lambda match: match.group(1) + quote(mask_phone(unquote_plus(match.group(2))), safe="*"), text
    )
    return mask_text(text)


class AccessLogMaskingFilter(MaskingFilter):
    """Masks access log lines (runserver's ``django.server``, gunicorn's access log): the query string too."""

    mask = staticmethod(mask_request_line)
