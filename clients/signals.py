"""Registers the idempotency-record purge in django-celery-beat's DatabaseScheduler after every migrate."""

from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.dispatch import receiver

PURGE_NAME = "purge_idempotency_records"
PURGE_EVERY_SECONDS = 3600


@receiver(post_migrate)
def register_periodic_tasks(sender: AppConfig, using: str = "default", **kwargs: Any) -> None:
    if sender.name != "clients":
        return
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    schedule, _ = IntervalSchedule.objects.using(using).get_or_create(
        every=PURGE_EVERY_SECONDS, period=IntervalSchedule.SECONDS
    )
    PeriodicTask.objects.using(using).update_or_create(
        name=PURGE_NAME,
        defaults={"task": "clients.purge_idempotency_records", "interval": schedule, "enabled": True},
    )
