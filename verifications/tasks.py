"""Celery tasks: thin; the service does the work."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from verifications.rescue import verifications_rescue
from verifications.retention import personal_data_purge
from verifications.services import verifications_purge


@shared_task(name="verifications.purge_expired", ignore_result=True)
def purge_expired() -> int:
    return verifications_purge()


@shared_task(name="verifications.purge_personal_data", ignore_result=True)
def purge_personal_data() -> int:
    # Half the soft time limit: whatever is left goes to the next run, never to a killed task.
    erased = personal_data_purge(budget_seconds=settings.CELERY_TASK_SOFT_TIME_LIMIT / 2)
    return erased.requests + erased.verifications + erased.idempotency_records


@shared_task(name="verifications.rescue_codes", ignore_result=True)
def rescue_codes() -> int:
    return verifications_rescue()
