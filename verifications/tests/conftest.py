"""Verification test helpers: a template with a ``code`` token, a frozen clock, and reading the sent code."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.test import override_settings

from common.conf import gateway_settings
from common.sealing import unseal
from messaging.models import VerifyRequests
from messaging.services.limits import limits_policy_reset
from messaging.tests.factories import make_template

PHONE = "+989121234567"
START = datetime(2026, 11, 27, 10, 0, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def template(db: Any) -> Any:
    return make_template(template_id=1, token_names=["code"])


@pytest.fixture
def clock() -> Iterator[Any]:
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


@contextmanager
def gateway(**values: Any) -> Iterator[None]:
    """Override SMS_GATEWAY keys (the cached limits policy is dropped on the way in and out)."""
    limits_policy_reset()
    with override_settings(SMS_GATEWAY={**gateway_settings(), **values}):
        yield
    limits_policy_reset()


def start(api: Any, phone: str = "09121234567", **body: Any) -> Any:
    return api.post("/verifications/", {"phone": phone, "template_id": 1, **body}, format="json")


def check(api: Any, verification_id: str, code: str) -> Any:
    return api.post(f"/verifications/{verification_id}/check/", {"code": code}, format="json")


def sent_code(send_request_id: int | None) -> str:
    """The code as queued for the provider (what the simulator would receive)."""
    assert send_request_id is not None, "a test number sends nothing"
    return str(unseal(VerifyRequests.objects.get(id=send_request_id).token_value)["code"])


def database_text() -> str:
    """Every value in the database as text: what a dump would show."""
    if connection.vendor == "sqlite":
        connection.ensure_connection()
        return "\n".join(connection.connection.iterdump())
    with connection.cursor() as cursor:
        cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
        tables = [row[0] for row in cursor.fetchall()]
        chunks: list[str] = []
        for table in tables:
            cursor.execute(f'SELECT t::text FROM "{table}" AS t')
            chunks.extend(row[0] for row in cursor.fetchall())
    return "\n".join(chunks)
