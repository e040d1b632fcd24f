"""Registers the purges (old verifications, personal data past retention) and the rescue check in
django-celery-beat's DatabaseScheduler after every migrate; adds verification codes to routing-score rebuilds."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.dispatch import receiver

from common.conf import gateway_settings
from messaging.services.scores import Outcomes, scores_rebuilding

PURGE_NAME = "purge_expired_verifications"
RETENTION_PURGE_NAME = "purge_personal_data"
RESCUE_NAME = "rescue_verification_codes"


@receiver(post_migrate)
def register_periodic_tasks(sender: AppConfig, using: str = "default", **kwargs: Any) -> None:
    if sender.name != "verifications":
        return
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    gateway = gateway_settings()
    # The rescue check's messages expire after one interval, like the report poller's: a busy worker must not
    # run a backlog of them back to back.
    for name, task, every, expire in (
        (PURGE_NAME, "verifications.purge_expired", gateway["OTP_PURGE_INTERVAL_SECONDS"], None),
        (RETENTION_PURGE_NAME, "verifications.purge_personal_data", gateway["RETENTION_PURGE_SECONDS"], None),
        (
            RESCUE_NAME,
            "verifications.rescue_codes",
            gateway["RESCUE_INTERVAL_SECONDS"],
            max(1, gateway["RESCUE_INTERVAL_SECONDS"]),
        ),
    ):
        schedule, _ = IntervalSchedule.objects.using(using).get_or_create(every=every, period=IntervalSchedule.SECONDS)
        PeriodicTask.objects.using(using).update_or_create(
            name=name, defaults={"task": task, "interval": schedule, "enabled": True, "expire_seconds": expire}
        )


@receiver(scores_rebuilding)
def count_codes(sender: Any, outcomes: Outcomes, since: datetime, **kwargs: Any) -> None:
    """A routing-score rebuild: the codes each engine took and those approved, from recent verifications."""
    from django.db.models import Count, Q

    from verifications.models import Verification

    sent = (
        Verification.objects.filter(created_at__gte=since, send_request__system__isnull=False)
        .values_list("send_request__system_id", "send_request__operator")
        .annotate(count=Count("id"), approved=Count("id", filter=Q(status=Verification.Status.APPROVED)))
        .order_by()
    )
    for engine_id, operator, count, approved in sent:
        outcomes.codes[engine_id, operator] += count
        outcomes.approved[engine_id, operator] += approved
