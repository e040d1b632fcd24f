"""Celery tasks: thin, take ids only, safe to run twice (the service claims before it sends)."""

from __future__ import annotations

from celery import shared_task

from messaging.services.delivery import requests_deliver
from messaging.services.pump import requests_pump
from messaging.services.requests import requests_sweep


@shared_task(name="messaging.deliver_request", ignore_result=True)
def deliver_request(request_id: int) -> None:
    requests_deliver(request_ids=[request_id])


@shared_task(name="messaging.check_pending_requests", ignore_result=True)
def check_pending_requests() -> int:
    return requests_sweep()


@shared_task(name="messaging.deliver_due", ignore_result=True)
def deliver_due() -> int:
    return requests_pump()
