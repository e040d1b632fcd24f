"""After every migrate: the cache table exists, and the sweeper, the report poller and the credit check are in
django-celery-beat's schedule."""

from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.db.models.signals import post_delete, post_migrate, post_save
from django.dispatch import receiver

from common.memo import memos_clear

SWEEPER_NAME = "check_pending_requests"
REPORTS_NAME = "poll_delivery_reports"
CREDIT_NAME = "check_engine_credit"


@receiver(post_migrate)
def register_periodic_tasks(sender: AppConfig, using: str = "default", **kwargs: Any) -> None:
    if sender.name != "messaging":
        return
    from django.core.management import call_command
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    # On the embedded default, breakers and rate limits live in a database cache table.
    if str(settings.CACHES["default"]["BACKEND"]).endswith("DatabaseCache"):
        call_command("createcachetable", database=using, verbosity=0)

    gateway = settings.SMS_GATEWAY
    # The report poller's messages expire after one interval: while a busy pump holds a worker, they would
    # otherwise pile up in the queue and run back to back, ahead of the pump's next hand-over.
    for name, task, every, expire in (
        (SWEEPER_NAME, "messaging.check_pending_requests", gateway["SWEEP_INTERVAL_SECONDS"], None),
        (REPORTS_NAME, "messaging.poll_delivery_reports", gateway["REPORTS_INTERVAL_SECONDS"], True),
        (CREDIT_NAME, "messaging.check_engine_credit", gateway["CREDIT_INTERVAL_SECONDS"], None),
    ):
        schedule, _ = IntervalSchedule.objects.using(using).get_or_create(every=every, period=IntervalSchedule.SECONDS)
        PeriodicTask.objects.using(using).update_or_create(
            name=name,
            defaults={
                "task": task,
                "interval": schedule,
                "enabled": True,
                "expire_seconds": max(1, every) if expire else None,
            },
        )


@receiver([post_save, post_delete], sender="messaging.Templates")
@receiver([post_save, post_delete], sender="messaging.Engine")
@receiver([post_save, post_delete], sender="messaging.TemplatesEngine")
def forget_routes(**kwargs: Any) -> None:
    from messaging.services.routes import routes_changed

    routes_changed()
    memos_clear()


@receiver([post_save, post_delete], sender="messaging.RateLimit")
@receiver([post_save, post_delete], sender="messaging.AllowedRegion")
def forget_memos(**kwargs: Any) -> None:
    # This process sees an edit at once; the others within their memo's few seconds.
    memos_clear()
