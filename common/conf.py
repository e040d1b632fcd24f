"""Typed access to the gateway's settings block (``settings.SMS_GATEWAY``), read at call time."""

from __future__ import annotations

from typing import Any, cast

from django.conf import settings


def gateway_settings() -> dict[str, Any]:
    return cast(dict[str, Any], settings.SMS_GATEWAY)
