"""Celery tasks: thin, take ids only, safe to run twice (the service claims before it sends)."""

from __future__ import annotations

from celery import shared_task

from messaging.services.credit import credit_check_all
from messaging.services.delivery import requests_deliver
from messaging.services.pump import requests_pump
from messaging.services.reports import reports_poll
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


@shared_task(name="messaging.poll_delivery_reports", ignore_result=True)
def poll_delivery_reports() -> int:
    return reports_poll()


@shared_task(name="messaging.check_engine_credit", ignore_result=True)
def check_engine_credit() -> int:
    return credit_check_all()
