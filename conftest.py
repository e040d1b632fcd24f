"""Fixtures shared by every app's tests."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings
from django.core.cache import cache
from rest_framework.test import APIClient

from tests.processes import Simulator, Worker


@pytest.fixture(autouse=True)
def _clear_cache(db: Any) -> Iterator[None]:
    # Rate limits and breakers live in the cache, templates and clients in per-process memos; each test
    # starts with none.
    from common.memo import memos_clear

    cache.clear()
    memos_clear()
    yield


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix: None) -> None:
    """The suite's own connection to the test database runs without the statement timeouts: creating and dropping
    that database copies a template, which on a busy machine takes longer than any request may. The timeouts
    are tested on processes of their own (tests/faults/test_db_timeouts.py) and hold in every worker started."""
    options = settings.DATABASES["default"].get("OPTIONS", {})
    options.pop("answer_timeout", None)
    if "statement_timeout" in options.get("options", ""):
        options["options"] += " -c statement_timeout=0"


@pytest.fixture
def api_client_key(db: Any) -> tuple[Any, str]:
    from clients.services import client_create

    return client_create(name=f"client-{os.urandom(4).hex()}")


class GatewayAPIClient(APIClient):
    """An API client authenticated as ``gateway_client``."""

    gateway_client: Any


@pytest.fixture
def api(api_client_key: tuple[Any, str]) -> GatewayAPIClient:
    client = GatewayAPIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_client_key[1]}")
    client.gateway_client = api_client_key[0]
    return client


@pytest.fixture(scope="session")
def simulator() -> Iterator[Simulator]:
    sim = Simulator()
    yield sim
    sim.stop()


@pytest.fixture
def sim(simulator: Simulator) -> Simulator:
    simulator.reset()
    return simulator


def _test_database_url() -> str:
    db = settings.DATABASES["default"]
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    user = db.get("USER") or ""
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    auth = f"{user}{password}@" if user else ""
    return f"postgres://{auth}{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{db['NAME']}"


@pytest.fixture(scope="session")
def worker_env(django_db_setup: Any) -> dict[str, str]:
    env = dict(os.environ)
    env["DATABASE_URL"] = _test_database_url()
    env.setdefault("DEBUG", "1")
    env.setdefault("SECRET_KEY", settings.SECRET_KEY)
    # Delivery reports looked for within seconds, not the production 10 s then 30 s (the poller's own
    # schedule is tested in-process; the integration tests check what happens end to end).
    env.setdefault("SMS_REPORTS_FIRST_POLL_SECONDS", "1")
    env.setdefault("SMS_REPORTS_BACKOFF_SECONDS", "2")
    env.setdefault("SMS_REPORTS_INTERVAL_SECONDS", "1")
    return env


@pytest.fixture(scope="session")
def worker(worker_env: dict[str, str]) -> Iterator[Worker]:
    from smsproject.celery import app

    app.control.purge()
    proc = Worker(worker_env)
    proc.start()
    yield proc
    proc.stop()
