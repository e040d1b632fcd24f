"""Personal data: the retention purge (task in the beat schedule) and ``manage.py forget_phone``."""

from __future__ import annotations

import io
import logging
from datetime import timedelta
from typing import Any

import pytest
from django.apps import apps
from django.core.cache import cache
from django.core.management import CommandError, call_command
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from clients.models import IdempotencyRecord
from messaging.models import Attempt, VerifyRequests
from messaging.services.limits import counter_keys
from messaging.tests.factories import make_attempt, make_engine, make_request
from verifications.models import Verification
from verifications.retention import personal_data_purge, phone_forget
from verifications.signals import RETENTION_PURGE_NAME, register_periodic_tasks
from verifications.tasks import purge_personal_data
from verifications.tests.conftest import gateway, start

Flag = VerifyRequests.Flag
PHONE, OTHER = "+989121234567", "+989121234568"


def old_rows(client: Any, *, days: int, phone: str = PHONE, flag: str = Flag.DONE) -> VerifyRequests:
    """A request (with an attempt), a verification and an idempotency record created ``days`` ago."""
    created = timezone.now() - timedelta(days=days)
    request = make_request(client, phone=phone, flag=flag, created_at=created)
    make_attempt(request, make_engine(), created_at=created)
    Verification.objects.create(
        client=client,
        phone=phone,
        template=request.template,
        status="approved",
        expires_at=created + timedelta(minutes=10),
        created_at=created,
    )
    IdempotencyRecord.objects.create(
        client=client,
        key=f"key-{request.pk}",
        fingerprint="f",
        status_code=202,
        body={"phone": phone},
        created_at=created,
    )
    return request


def test_the_purge_deletes_rows_past_retention_batch_by_batch_and_keeps_the_rest(api: Any) -> None:
    client = api.gateway_client
    old = [old_rows(client, days=91) for _ in range(3)]
    kept = old_rows(client, days=89)
    waiting = make_request(client, created_at=timezone.now() - timedelta(days=120))  # never sent: not purged

    with gateway(RETENTION_DAYS=90, RETENTION_BATCH=2):
        erased = personal_data_purge(budget_seconds=60)

    assert (erased.requests, erased.verifications, erased.idempotency_records) == (3, 3, 3)
    assert set(VerifyRequests.objects.values_list("pk", flat=True)) == {kept.pk, waiting.pk}
    assert list(Attempt.objects.values_list("request_id", flat=True)) == [kept.pk]
    assert not Attempt.objects.filter(request__in=old).exists()
    assert Verification.objects.count() == IdempotencyRecord.objects.count() == 1


def test_a_purge_out_of_time_stops_after_a_batch_and_the_next_run_goes_on(api: Any) -> None:
    for _ in range(3):
        old_rows(api.gateway_client, days=100)

    with gateway(RETENTION_BATCH=2):
        first = personal_data_purge(budget_seconds=0)
        assert VerifyRequests.objects.count() == 1
        assert purge_personal_data() == 3  # the task: the last request, verification and record

    assert first.requests == 2
    assert not VerifyRequests.objects.exists() and not Verification.objects.exists()


def test_the_retention_purge_is_registered_in_the_beat_schedule(db: Any) -> None:
    PeriodicTask.objects.filter(name=RETENTION_PURGE_NAME).delete()
    register_periodic_tasks(sender=apps.get_app_config("verifications"))
    task = PeriodicTask.objects.get(name=RETENTION_PURGE_NAME)
    assert (task.task, task.interval.every, task.enabled) == ("verifications.purge_personal_data", 3600, True)


def forget(number: str, *extra: str) -> str:
    out = io.StringIO()
    call_command("forget_phone", number, *extra, stdout=out)
    return out.getvalue()


def test_forget_phone_erases_every_row_and_counter_of_a_number_however_it_is_written(
    api: Any, caplog: pytest.LogCaptureFixture
) -> None:
    assert (
        api.post(
            "/sendsms/", {"phone": "09121234567", "template_id": 1, "token_value": ["1"]}, format="json"
        ).status_code
        == 202
    )
    replayable = {"HTTP_IDEMPOTENCY_KEY": "k1"}
    assert (
        api.post(
            "/sendsms/",
            {"phone": "+98 912 123 4567", "template_id": 1, "token_value": ["2"]},
            format="json",
            **replayable,
        ).status_code
        == 202
    )
    assert start(api, "\u06f0\u06f9\u06f1\u06f2\u06f1\u06f2\u06f3\u06f4\u06f5\u06f6\u06f7").status_code == 201
    make_attempt(VerifyRequests.objects.filter(phone=PHONE).earliest("pk"), make_engine())
    old_rows(api.gateway_client, days=3)
    assert (
        api.post(
            "/sendsms/", {"phone": "09121234568", "template_id": 1, "token_value": ["3"]}, format="json"
        ).status_code
        == 202
    )
    counters = counter_keys(scope="phone", identity=PHONE)
    other_counters = counter_keys(scope="phone", identity=OTHER)
    assert [cache.get(key) for key in counters[1::2]] == [3, 3]

    with caplog.at_level(logging.DEBUG):
        output = forget("\u200f0912\u2013123\u2013456\uff17")

    assert "0912***4567" in output and "9121234567" not in output
    assert not any("9121234567" in record.getMessage() for record in caplog.records)
    assert not VerifyRequests.objects.filter(phone=PHONE).exists()
    assert not Verification.objects.filter(phone=PHONE).exists()
    assert not IdempotencyRecord.objects.filter(body__phone=PHONE).exists()
    assert not Attempt.objects.filter(request__phone=PHONE).exists() and Attempt.objects.count() == 0
    assert [cache.get(key) for key in counters] == [None] * len(counters)
    # Another number keeps everything.
    assert VerifyRequests.objects.filter(phone=OTHER).count() == 1
    assert [cache.get(key) for key in other_counters[1::2]] == [1, 1]


def test_forget_phone_waits_for_a_request_being_sent_then_erases_it(api: Any) -> None:
    sending = make_request(api.gateway_client, flag=Flag.SENDING)
    waits: list[float] = []

    def worker_finishes(seconds: float) -> None:
        waits.append(seconds)
        VerifyRequests.objects.filter(pk=sending.pk).update(flag=Flag.DONE)

    erased = phone_forget(raw_phone="09121234567", wait_seconds=30, poll_seconds=0.5, sleep=worker_finishes)

    assert (erased.requests, erased.requests_left, waits) == (1, 0, [0.5])
    assert not VerifyRequests.objects.exists()


def test_forget_phone_says_so_when_a_request_is_still_being_sent(api: Any) -> None:
    make_request(api.gateway_client, flag=Flag.SENDING)
    make_request(api.gateway_client, flag=Flag.FAILED)

    with pytest.raises(CommandError, match="1 request\\(s\\) are still being sent"):
        forget("09121234567", "--wait", "0")

    assert list(VerifyRequests.objects.values_list("flag", flat=True)) == [Flag.SENDING]


def test_forget_phone_refuses_what_is_not_a_number(db: Any) -> None:
    with pytest.raises(CommandError, match="Not a phone number"):
        forget("not-a-number")
