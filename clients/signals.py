"""Registers the idempotency-record purge after every migrate; forgets memoised keys when a client or key changes."""

from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_delete, post_migrate, post_save
from django.dispatch import receiver

from common.memo import memos_clear

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


@receiver([post_save, post_delete], sender="clients.Client")
@receiver([post_save, post_delete], sender="clients.ClientKey")
def forget_clients(**kwargs: Any) -> None:
    # A deactivated client or a revoked key is refused at once by this process, within AUTH_MEMO_SECONDS by others.
    memos_clear()
