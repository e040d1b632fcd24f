"""Migrate registers the idempotency-record purge in django-celery-beat's DatabaseScheduler."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django_celery_beat.models import PeriodicTask

from clients.signals import PURGE_NAME
from clients.tasks import purge_idempotency_records

pytestmark = pytest.mark.django_db


def test_migrate_registers_the_hourly_idempotency_purge_in_the_database_scheduler():
    PeriodicTask.objects.filter(name=PURGE_NAME).delete()
    call_command("migrate", verbosity=0)

    task = PeriodicTask.objects.get(name=PURGE_NAME)
    assert (task.task, task.enabled) == ("clients.purge_idempotency_records", True)
    assert (task.interval.every, task.interval.period) == (3600, "seconds")
    assert task.task == purge_idempotency_records.name  # the name beat sends is the task's own
