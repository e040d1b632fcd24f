"""The purge of old verifications, its beat registration, and the admin pages."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.apps import apps
from django.contrib.auth.models import User
from django_celery_beat.models import PeriodicTask

from verifications.models import Verification
from verifications.signals import PURGE_NAME, register_periodic_tasks
from verifications.tasks import purge_expired
from verifications.tests.conftest import sent_code, start


def test_verifications_expired_longer_than_the_retention_are_purged(api, clock):
    old = start(api).json()
    clock.shift(timedelta(days=7, minutes=10, seconds=1))
    recent = start(api, "09121234568").json()
    assert purge_expired() == 1
    assert [str(pk) for pk in Verification.objects.values_list("id", flat=True)] == [recent["id"]]
    assert old["id"] != recent["id"]


def test_the_purge_is_registered_in_the_beat_schedule(db):
    PeriodicTask.objects.filter(name=PURGE_NAME).delete()
    register_periodic_tasks(sender=apps.get_app_config("verifications"))
    task = PeriodicTask.objects.get(name=PURGE_NAME)
    assert (task.task, task.interval.every, task.enabled) == ("verifications.purge_expired", 3600, True)


def test_admin_pages_show_no_code_or_hash(api, client: Any):
    data = start(api).json()
    code = sent_code(data["send_request_id"])
    verification = Verification.objects.get()
    admin = User.objects.create_superuser("ops", "ops@example.com", "pw")
    client.force_login(admin)
    pages = [
        client.get("/admin/verifications/verification/"),
        client.get("/admin/verifications/verification/?status__exact=pending"),
        client.get(f"/admin/verifications/verification/{verification.pk}/change/"),
        client.get("/admin/verifications/verification/?q=09121234567"),
    ]
    for page in pages:
        assert page.status_code == 200
        html = page.content.decode()
        assert verification.code_hash not in html
        assert f">{code}<" not in html and f'"{code}"' not in html
        assert "+989121234567" not in html
    assert "0912***4567" in pages[0].content.decode()
