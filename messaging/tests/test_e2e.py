"""End to end: the API in this process, a real Celery worker process, the real broker and database,
and the provider simulator as a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import time
from typing import Any

import pytest
from celery import current_app
from django.apps import apps
from django.test import override_settings

from messaging.models import VerifyRequests
from messaging.publishing import publish_now
from messaging.services.config import providers_load
from messaging.services.pump import pump_is_running
from messaging.signals import register_periodic_tasks
from messaging.tests.conftest import gateway_config, new_request
from tests.processes import Beat, free_port, wait_for

Flag = VerifyRequests.Flag
pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
BODY = {"phone": "09121234567", "template_id": 1, "token_value": {"code": "123456"}}


@pytest.fixture
def live(sim, worker, transactional_db) -> Any:
    providers_load(data=gateway_config(sim.url, read_timeout=1.0))
    return sim


def final(request_id: int, timeout: float = 30) -> VerifyRequests:
    def done() -> VerifyRequests | None:
        request = VerifyRequests.objects.get(id=request_id)
        return request if request.is_final else None

    return wait_for(done, timeout=timeout, interval=0.1, message=f"request {request_id} to end")


def test_sendsms_reaches_done_through_a_real_worker(live, api):
    response = api.post("/sendsms/", BODY, format="json")
    assert response.status_code == 202
    request = final(response.json()["id"])

    assert (request.flag, request.system.name, request.tries) == (Flag.DONE, "smsir", 1)
    [received] = live.received("smsir")
    assert received["body"]["parameters"] == [{"name": "CODE", "value": "123456"}]
    status = api.get(response["Location"]).json()
    assert (status["flag"], status["system"], len(status["attempts"])) == ("DONE", "smsir", 1)


def test_failover_through_a_real_worker(live, api):
    live.fault("smsir", "http500")
    response = api.post("/sendsms/", BODY, format="json")
    request = final(response.json()["id"])

    assert (request.flag, request.system.name, request.tries) == (Flag.DONE, "kavenegar", 2)
    assert len(live.received("smsir")) == len(live.received("kavenegar")) == 1


def test_the_same_request_queued_ten_times_is_sent_once(live, api_client_key):
    request = new_request(api_client_key[0])
    assert publish_now([request.id] * 10) == 10
    final(request.id)
    time.sleep(1.5)  # let every duplicate task run: none may send again

    assert len(live.received()) == 1


def _no_pump_running() -> None:
    """Wait until no worker runs a pump (a running pump would find the request without any publish)."""
    quiet_since = time.monotonic()
    deadline = quiet_since + 30
    while time.monotonic() - quiet_since < 1.5:  # a live pump refreshes its mark every second
        assert time.monotonic() < deadline, "a pump kept running"
        if pump_is_running():
            quiet_since = time.monotonic()
        time.sleep(0.1)


def test_broker_down_at_accept_time_then_the_sweeper_delivers(live, api, monkeypatch, worker_env):
    _no_pump_running()
    good_url = current_app.conf.broker_url
    _use_broker(monkeypatch, _unreachable(good_url))
    try:
        started = time.monotonic()
        response = api.post("/sendsms/", BODY, format="json")
        elapsed = time.monotonic() - started
    finally:
        _use_broker(monkeypatch, good_url)
    assert response.status_code == 202
    assert elapsed < 1.0
    request_id = response.json()["id"]
    time.sleep(1)
    assert VerifyRequests.objects.get(id=request_id).flag == Flag.PENDING
    assert live.received() == []

    # The real thing: beat's DatabaseScheduler runs check_pending_requests, which publishes the request.
    with override_settings(SMS_GATEWAY={**_gateway_settings(), "SWEEP_INTERVAL_SECONDS": 1}):
        register_periodic_tasks(sender=apps.get_app_config("messaging"))
    beat = Beat(worker_env)
    beat.start()
    try:
        assert final(request_id).flag == Flag.DONE
    finally:
        beat.stop()
    assert len(live.received()) == 1


def _unreachable(url: str) -> str:
    """A broker of the same kind on a port nothing listens on: every connection is refused."""
    if url.startswith(("amqp", "pyamqp")):
        return f"amqp://guest:guest@127.0.0.1:{free_port()}//"
    return f"redis://127.0.0.1:{free_port()}/0"  # also for the filesystem broker, which cannot be down


def _use_broker(monkeypatch: Any, url: str) -> None:
    """Point this process's publisher at another broker (the worker keeps its own)."""
    monkeypatch.setenv("CELERY_BROKER_URL", url)  # Celery reads the variable before its own setting
    current_app.conf.broker_url = url
    current_app._pool = None
    current_app.amqp._producer_pool = None


def _gateway_settings() -> dict[str, Any]:
    from django.conf import settings

    return dict(settings.SMS_GATEWAY)
