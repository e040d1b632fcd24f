"""Delivery reports end to end: the API in this process, real Celery workers, beat's DatabaseScheduler running
the poller, the real broker and database, and the provider simulator as a real HTTP server on 127.0.0.1.

The workers look for a report 1 s after DONE and 2 s after a look without a final answer (``worker_env``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from django.apps import apps
from django.conf import settings
from django.test import override_settings

from common.sealing import seal
from messaging.models import Engine, Templates, VerifyRequests
from messaging.publishing import publish_wakeup
from messaging.rowwrites import insert_many
from messaging.services.config import providers_load
from messaging.signals import register_periodic_tasks
from messaging.tests.conftest import gateway_config
from tests.processes import Beat, Worker, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
Flag = VerifyRequests.Flag
Delivery = VerifyRequests.Delivery


@pytest.fixture
def live(sim: Any, worker: Worker, worker_env: dict[str, str], transactional_db: Any) -> Iterator[Any]:
    """Engines on the simulator, and beat running the report poller every second."""
    providers_load(data=gateway_config(sim.url, read_timeout=1.0))
    with override_settings(SMS_GATEWAY={**settings.SMS_GATEWAY, "REPORTS_INTERVAL_SECONDS": 1}):
        register_periodic_tasks(sender=apps.get_app_config("messaging"))
    beat = Beat(worker_env)
    beat.start()
    yield sim
    beat.stop()


def only(engine_name: str) -> None:
    Engine.objects.exclude(name=engine_name).update(enabled=False)


def stats(sim: Any, provider: str) -> dict[str, Any]:
    return dict(sim.call("GET", "/_sim/stats")["providers"][provider])


def reported(request_ids: list[int], *, timeout: float = 60) -> list[VerifyRequests]:
    def final() -> list[VerifyRequests] | None:
        rows = list(VerifyRequests.objects.filter(id__in=request_ids).order_by("id"))
        waiting = [row for row in rows if row.delivery_state in ("", Delivery.PENDING)]
        return None if waiting else rows

    return wait_for(final, timeout=timeout, interval=0.2, message=f"reports for {len(request_ids)} request(s)")


def many(client: Any, count: int, *, first_phone: int) -> list[int]:
    """``count`` accepted requests to distinct numbers, stored as the API stores them, and a pump woken."""
    template = Templates.objects.get(template_id=1)
    sealed = seal({"code": "123456"})
    rows = [
        VerifyRequests(
            request_sender=client, phone=f"+98912{first_phone + i:07d}", template=template, token_value=sealed
        )
        for i in range(count)
    ]
    insert_many(rows)
    publish_wakeup()
    return [row.id for row in rows]


def test_a_request_goes_done_then_delivered(live, api):
    response = api.post(
        "/sendsms/", {"phone": "09121234567", "template_id": 1, "token_value": {"code": "482913"}}, format="json"
    )
    assert response.status_code == 202

    [request] = reported([response.json()["id"]])

    assert (request.flag, request.system.name) == (Flag.DONE, "smsir")
    assert (request.delivery_state, request.delivery_code, request.report_next_at) == (Delivery.DELIVERED, "1", None)
    assert request.delivered_at is not None
    body = api.get(response["Location"]).json()
    assert (body["delivery"]["state"], body["delivery"]["provider_code"]) == ("delivered", "1")
    assert stats(live, "smsir")["status_calls"] >= 1


def test_an_undelivered_message_shows_undelivered_with_the_providers_code(live, api):
    live.call("POST", "/_sim/delivery", {"provider": "smsir", "prefix": "0935", "undelivered_share": 1})
    response = api.post(
        "/sendsms/", {"phone": "09351234567", "template_id": 1, "token_value": {"code": "1234"}}, format="json"
    )

    [request] = reported([response.json()["id"]])

    assert (request.delivery_state, request.delivery_code, request.delivered_at) == (Delivery.UNDELIVERED, "2", None)
    listed = api.get("/sendsms/", {"delivery": "undelivered"}).json()["results"]
    assert [item["id"] for item in listed] == [request.id]


def test_a_thousand_delivered_kavenegar_messages_cost_at_most_three_status_calls(live, api_client_key):
    only("kavenegar")
    ids = many(api_client_key[0], 1000, first_phone=1000)

    rows = reported(ids, timeout=120)

    assert {row.flag for row in rows} == {Flag.DONE}
    assert {row.delivery_state for row in rows} == {Delivery.DELIVERED}
    counted = stats(live, "kavenegar")
    assert counted["status_ids"] == 1000  # each message asked about once
    assert counted["status_calls"] <= 3


def test_a_status_api_outage_changes_no_state_and_loses_nothing(live, api_client_key):
    only("kavenegar")
    live.fault("kavenegar", "http500", endpoint="status")
    ids = many(api_client_key[0], 20, first_phone=3000)

    wait_for(lambda: stats(live, "kavenegar")["status_calls"] >= 2, timeout=30, message="status calls during outage")
    during = list(VerifyRequests.objects.filter(id__in=ids))
    assert {(row.flag, row.delivery_state, row.delivery_code) for row in during} == {(Flag.DONE, Delivery.PENDING, "")}
    assert all(row.report_next_at is not None for row in during)

    live.fault("kavenegar", "ok", endpoint="status")
    rows = reported(ids)

    assert {row.delivery_state for row in rows} == {Delivery.DELIVERED}
    assert len(live.received("kavenegar")) == 20  # nothing sent twice


class SecondWorker(Worker):
    def command(self) -> list[str]:
        command = super().command()
        command[command.index("-n") + 1] = f"second-{os.getpid()}@%h"
        return command


def test_two_workers_never_poll_the_same_message_at_the_same_time(live, api_client_key, worker_env):
    from celery import current_app

    second = SecondWorker(worker_env)
    second.start()
    try:
        ids = many(api_client_key[0], 300, first_phone=5000)
        # Beside beat's runs, more pollers at once than the two workers have processes.
        for _ in range(8):
            current_app.send_task("messaging.poll_delivery_reports")
        rows = reported(ids, timeout=120)
    finally:
        second.stop()

    assert {row.delivery_state for row in rows} == {Delivery.DELIVERED}
    assert stats(live, "smsir")["status_ids"] == 300  # one call per message, none asked twice
