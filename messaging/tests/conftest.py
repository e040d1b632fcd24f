"""A gateway wired to the provider simulator: SMS.IR first, Kavenegar second, one template."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sentry_sdk
from aioresponses import aioresponses
from sentry_sdk.envelope import Envelope
from sentry_sdk.transport import Transport

from common.sealing import seal
from messaging.models import Engine, Templates, VerifyRequests
from messaging.services.config import providers_load
from messaging.tests.factories import make_engine
from smsproject.sentry import init_sentry
from tests.processes import Simulator

PHONE = "+989121234567"
# A cache where nothing listens: every call fails at once, as in a Redis outage (for ``override_settings``).
UNREACHABLE_CACHE = {
    "default": {
        "BACKEND": "common.cache.RedisCache",
        "LOCATION": "redis://127.0.0.1:9/0",
        "OPTIONS": {"socket_timeout": 0.25, "socket_connect_timeout": 0.25},
    }
}


def gateway_config(sim_url: str, *, read_timeout: float = 2.0) -> dict[str, Any]:
    return {
        "engines": [
            {
                "name": "smsir",
                "kind": "smsir",
                "api_url": f"{sim_url}/smsir",
                "provider_token": "smsir-test-key",
                "priority": 10,
                "connect_timeout": 1,
                "read_timeout": read_timeout,
            },
            {
                "name": "kavenegar",
                "kind": "kavenegar",
                "api_url": f"{sim_url}/kavenegar",
                "provider_token": "kavenegar-test-key",
                "priority": 20,
                "connect_timeout": 1,
                "read_timeout": read_timeout,
            },
        ],
        "templates": [
            {
                "template_id": 1,
                "name": "login",
                "token_names": ["code"],
                "engines": {
                    "smsir": {"template_code": "100000", "token_keys": {"code": "CODE"}},
                    "kavenegar": {"template_code": "verify", "token_keys": {"code": "token"}},
                },
            }
        ],
    }


@pytest.fixture
def gateway(sim: Simulator, db: Any) -> Simulator:
    providers_load(data=gateway_config(sim.url, read_timeout=0.8))
    return sim


def new_request(client: Any, *, code: str = "123456", phone: str = PHONE, **fields: Any) -> VerifyRequests:
    """A stored PENDING request, as the API would store it, without publishing it."""
    return VerifyRequests.objects.create(
        request_sender=client,
        phone=phone,
        template=Templates.objects.get(template_id=1),
        token_value=seal({"code": code}),
        **fields,
    )


def engine(name: str) -> Engine:
    return Engine.objects.get(name=name)


class CapturingTransport(Transport):
    def __init__(self) -> None:
        super().__init__()
        self.events: list[dict[str, Any]] = []

    def capture_envelope(self, envelope: Envelope) -> None:
        for item in envelope.items:
            event = item.get_event()
            if event is not None:
                self.events.append(dict(event))


@pytest.fixture
def sentry_events() -> Iterator[list[dict[str, Any]]]:
    transport = CapturingTransport()
    init_sentry(dsn="", environment="test", transport=transport)
    yield transport.events
    sentry_sdk.get_client().close()
    sentry_sdk.init(dsn=None)


# Engines at an address nothing listens on, for tests that fake the providers' HTTP (aioresponses).
@pytest.fixture
def fake() -> Iterator[aioresponses]:
    with aioresponses() as mocked:
        yield mocked


@pytest.fixture
def smsir(db: Any) -> Engine:
    return make_engine(name="smsir", kind="smsir", api_url="http://127.0.0.1:9/smsir")


@pytest.fixture
def kavenegar(db: Any) -> Engine:
    return make_engine(name="kavenegar", kind="kavenegar", api_url="http://127.0.0.1:9/kavenegar")
