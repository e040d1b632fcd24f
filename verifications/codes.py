"""Verification codes: how they are made, normalised and compared. Nothing here touches the database."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from django.conf import settings

from common.conf import gateway_settings
from common.phones import to_ascii_digits


def code_generate(*, length: int) -> str:
    return "".join(secrets.choice("0123456789") for _ in range(length))


def code_normalize(text: str) -> str:
    """What a user typed (Persian or Arabic-Indic digits, spaces) as ASCII digits."""
    return "".join(to_ascii_digits(text).split())


def _key() -> bytes:
    configured = gateway_settings()["OTP_HMAC_KEY"]
    if configured:
        return str(configured).encode()
    # Derived, never SECRET_KEY itself: a leak of one HMAC key must not be a leak of the signing key.
    return hmac.new(settings.SECRET_KEY.encode(), b"sms-gateway verification code hmac", hashlib.sha256).digest()


def code_hmac(*, verification_id: object, code: str) -> str:
    return hmac.new(_key(), f"{verification_id}:{code}".encode(), hashlib.sha256).hexdigest()


def code_matches(*, verification_id: object, code: str, code_hash: str) -> bool:
    return hmac.compare_digest(code_hmac(verification_id=verification_id, code=code), code_hash)
