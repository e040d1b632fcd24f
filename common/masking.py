"""Masking of phone numbers, codes and provider keys in logs and Sentry events."""

from __future__ import annotations

import logging
import re
from typing import Any

# Iranian mobile numbers in any of the forms clients send (E.164, 0098, 98, 0-prefixed, bare).
_PHONE = re.compile(r"(?<!\d)(?:\+98|0098|98|0)?(9\d{2})(\d{3})(\d{4})(?!\d)")
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
    return f"0{match.group(1)[:3]}***{match.group(3)}"


def mask_text(text: str) -> str:
    text = _PHONE.sub(lambda m: f"0{m.group(1)}***{m.group(3)}", text)
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

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string is the caller's bug, not ours to hide
            return True
        record.msg = mask_text(message)
        record.args = None
        return True
