"""Celery tasks of the clients app: thin, they only call services."""

from __future__ import annotations

from celery import shared_task

from clients.idempotency import idempotency_records_purge


@shared_task(name="clients.purge_idempotency_records", ignore_result=True)
def purge_idempotency_records() -> int:
    return idempotency_records_purge()
