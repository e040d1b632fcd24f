"""Celery tasks: thin; the service does the work."""

from __future__ import annotations

from celery import shared_task

from verifications.services import verifications_purge


@shared_task(name="verifications.purge_expired", ignore_result=True)
def purge_expired() -> int:
    return verifications_purge()
