"""Sealing of token values at rest: a database dump holds no code a client asked us to send."""

from __future__ import annotations

import base64
import hashlib
import json
from functools import lru_cache
from typing import Any

from cryptography.fernet import Fernet
from django.conf import settings

from common.conf import gateway_settings


@lru_cache(maxsize=4)
def _fernet(secret: str) -> Fernet:
    digest = hashlib.sha256(b"sms-gateway token seal\x00" + secret.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def _current() -> Fernet:
    return _fernet(gateway_settings()["TOKEN_SEAL_KEY"] or settings.SECRET_KEY)


def seal(value: Any) -> str:
    return _current().encrypt(json.dumps(value, separators=(",", ":")).encode()).decode()


def unseal(token: str) -> Any:
    return json.loads(_current().decrypt(token.encode()))
