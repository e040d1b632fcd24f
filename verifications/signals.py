"""Registers the purges (old verifications, personal data past retention) in django-celery-beat's DatabaseScheduler
after every migrate."""

from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.dispatch import receiver

from common.conf import gateway_settings

PURGE_NAME = "purge_expired_verifications"
RETENTION_PURGE_NAME = "purge_personal_data"


@receiver(post_migrate)
def register_periodic_tasks(sender: AppConfig, using: str = "default", **kwargs: Any) -> None:
    if sender.name != "verifications":
        return
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    for name, task, every in (
        (PURGE_NAME, "verifications.purge_expired", gateway_settings()["OTP_PURGE_INTERVAL_SECONDS"]),
        (RETENTION_PURGE_NAME, "verifications.purge_personal_data", gateway_settings()["RETENTION_PURGE_SECONDS"]),
    ):
        schedule, _ = IntervalSchedule.objects.using(using).get_or_create(every=every, period=IntervalSchedule.SECONDS)
        PeriodicTask.objects.using(using).update_or_create(
            name=name, defaults={"task": task, "interval": schedule, "enabled": True}
        )
