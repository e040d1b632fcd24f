"""Migrate registers the sweeper in django-celery-beat's DatabaseScheduler, with the configured interval."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.core.management import call_command
from django_celery_beat.models import PeriodicTask

from messaging.signals import SWEEPER_NAME, register_periodic_tasks

pytestmark = pytest.mark.django_db


def test_migrate_registers_check_pending_requests_in_the_database_scheduler():
    PeriodicTask.objects.filter(name=SWEEPER_NAME).delete()
    call_command("migrate", verbosity=0)

    task = PeriodicTask.objects.get(name=SWEEPER_NAME)
    assert task.task == "messaging.check_pending_requests"
    assert task.enabled
    assert (task.interval.every, task.interval.period) == (30, "seconds")


def test_the_sweep_interval_is_configurable_and_re_registering_updates_it(settings):
    settings.SMS_GATEWAY = {**settings.SMS_GATEWAY, "SWEEP_INTERVAL_SECONDS": 7}
    register_periodic_tasks(sender=apps.get_app_config("messaging"))
    register_periodic_tasks(sender=apps.get_app_config("messaging"))

    [task] = PeriodicTask.objects.filter(name=SWEEPER_NAME)
    assert task.interval.every == 7


def test_a_lease_shorter_than_the_task_time_limit_is_a_startup_error(settings):
    from messaging.checks import check_lease

    assert check_lease() == []
    settings.SMS_GATEWAY = {**settings.SMS_GATEWAY, "LEASE_SECONDS": settings.CELERY_TASK_TIME_LIMIT}
    assert [error.id for error in check_lease()] == ["sms.E004"]


def test_an_engine_whose_calls_cannot_fit_twice_in_the_lease_is_a_startup_error(settings):
    from messaging.checks import check_engines
    from messaging.tests.factories import make_engine

    make_engine(name="slow", connect_timeout=5, read_timeout=40)
    assert [error.id for error in check_engines()] == []
    settings.SMS_GATEWAY = {**settings.SMS_GATEWAY, "LEASE_SECONDS": 90}
    assert [error.id for error in check_engines()] == ["sms.E005"]


def test_migrate_registers_the_report_poller_and_the_credit_check(settings):
    from messaging.signals import CREDIT_NAME, REPORTS_NAME

    settings.SMS_GATEWAY = {**settings.SMS_GATEWAY, "REPORTS_INTERVAL_SECONDS": 4, "CREDIT_INTERVAL_SECONDS": 120}
    PeriodicTask.objects.filter(name__in=[REPORTS_NAME, CREDIT_NAME]).delete()
    register_periodic_tasks(sender=apps.get_app_config("messaging"))

    reports, credit = PeriodicTask.objects.get(name=REPORTS_NAME), PeriodicTask.objects.get(name=CREDIT_NAME)
    assert (reports.task, reports.interval.every, reports.enabled) == ("messaging.poll_delivery_reports", 4, True)
    assert (credit.task, credit.interval.every, credit.enabled) == ("messaging.check_engine_credit", 120, True)
    # A poll message that waited longer than an interval (behind a busy pump) is dropped, not run late.
    assert (reports.expire_seconds, credit.expire_seconds) == (4, None)


def test_a_database_wait_longer_than_the_soft_time_limit_is_a_startup_error(settings):
    from messaging.checks import check_database_wait

    assert check_database_wait() == []  # the shipped 5 + 2 s against 60 s
    settings.DB_ANSWER_TIMEOUT = settings.CELERY_TASK_SOFT_TIME_LIMIT
    assert [error.id for error in check_database_wait()] == ["sms.E006"]
    settings.DB_ANSWER_TIMEOUT = 0.0  # no limit at all: nothing to compare
    assert check_database_wait() == []
