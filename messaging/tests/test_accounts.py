"""Engine accounts: credit errors, configuration errors and low credit, through the delivery service and the
real simulator on 127.0.0.1 (no worker: called in-process), and the credit check with HTTP faked."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
import sentry_sdk
from aioresponses import aioresponses
from django.utils import timezone

from messaging.models import Attempt, Engine, VerifyRequests
from messaging.services.accounts import credit_store
from messaging.services.credit import credit_check_all
from messaging.services.delivery import requests_deliver
from messaging.tests.conftest import engine, new_request
from messaging.tests.factories import make_engine

pytestmark = pytest.mark.django_db
Flag = VerifyRequests.Flag


def deliver(client: Any) -> VerifyRequests:
    request = new_request(client)
    requests_deliver(request_ids=[request.id])
    request.refresh_from_db()
    return request


def test_done_schedules_the_first_report_look(gateway, api_client_key):
    request = deliver(api_client_key[0])

    assert (request.flag, request.delivery_state) == (Flag.DONE, VerifyRequests.Delivery.PENDING)
    assert request.report_next_at is not None
    assert 8 < (request.report_next_at - timezone.now()).total_seconds() <= 10


def test_a_credit_error_marks_the_engine_empty_and_later_sends_skip_it_without_a_call(gateway, api_client_key):
    gateway.fault("smsir", "credit")
    first = deliver(api_client_key[0])
    smsir = engine("smsir")
    assert (first.flag, first.system.name) == (Flag.DONE, "kavenegar")
    assert (smsir.out_of_credit, smsir.credit) == (True, Decimal(0))

    second = deliver(api_client_key[0])

    assert (second.flag, second.system.name) == (Flag.DONE, "kavenegar")
    assert len(gateway.received("smsir")) == 1  # only the first request's call
    skipped = Attempt.objects.get(request=second, engine=smsir)
    assert (skipped.outcome, skipped.error_message) == (Attempt.Outcome.SKIPPED, "skipped: out of credit")


def test_a_credit_reading_above_zero_brings_an_empty_engine_back(gateway, api_client_key):
    smsir = engine("smsir")
    credit_store(engine=smsir, credit=Decimal(0))
    assert deliver(api_client_key[0]).system.name == "kavenegar"

    credit_store(engine=smsir, credit=Decimal(5000))

    assert deliver(api_client_key[0]).system.name == "smsir"


def test_a_refused_key_fails_over_and_is_reported_once_as_a_configuration_error(gateway, api_client_key, sentry_events):
    gateway.fault("smsir", "bad_key")
    requests = [deliver(api_client_key[0]) for _ in range(3)]
    sentry_sdk.flush()

    assert {(request.flag, request.system.name) for request in requests} == {(Flag.DONE, "kavenegar")}
    smsir = engine("smsir")
    assert smsir.config_error_code == "10" and smsir.config_error_at is not None
    errors = [event for event in sentry_events if event.get("level") == "error"]
    assert [(event["tags"]["engine"], event["tags"]["error_code"]) for event in errors] == [("smsir", "10")]


def test_a_configuration_error_is_reported_also_when_no_engine_is_left(gateway, api_client_key, sentry_events):
    gateway.fault("all", "template_not_found")
    request = deliver(api_client_key[0])
    sentry_sdk.flush()

    assert request.flag == Flag.PENDING  # another round later; both engines say why
    assert (engine("smsir").config_error_code, engine("kavenegar").config_error_code) == ("113", "424")
    codes = {event["tags"]["error_code"] for event in sentry_events if event.get("level") == "error"}
    assert {"113", "424"} <= codes


def test_a_successful_send_clears_the_configuration_error(gateway, api_client_key):
    Engine.objects.filter(name="smsir").update(config_error_code="10", config_error_at=timezone.now())

    assert deliver(api_client_key[0]).system.name == "smsir"

    smsir = engine("smsir")
    assert (smsir.config_error_code, smsir.config_error_at) == ("", None)


def test_crossing_the_low_credit_threshold_warns_once_per_crossing(db, caplog, sentry_events):
    account = make_engine(low_credit_threshold=Decimal(500))
    for credit in (1000, 400, 300, 200, 600, 100, 50):
        credit_store(engine=account, credit=Decimal(credit))
    sentry_sdk.flush()

    warnings = [event for event in sentry_events if event.get("level") == "warning"]
    assert len(warnings) == 2  # 1000 -> 400, and 600 -> 100
    assert len([r for r in caplog.records if "below its threshold" in r.getMessage()]) == 2
    account.refresh_from_db()
    assert (account.credit, account.credit_low) == (Decimal(50), True)


def test_the_credit_check_stores_each_engines_credit_and_time(db):
    smsir = make_engine(kind="smsir", api_url="http://127.0.0.1:9/smsir")
    kavenegar = make_engine(kind="kavenegar", api_url="http://127.0.0.1:9/kavenegar")
    make_engine(enabled=False, api_url="http://127.0.0.1:9/off")
    with aioresponses() as fake:
        fake.get("http://127.0.0.1:9/smsir/v1/credit", payload={"status": 1, "message": "ok", "data": 6000.5})
        fake.get(
            re.compile(r"http://127\.0\.0\.1:9/kavenegar/v1/.*/account/info\.json"),
            payload={"return": {"status": 200, "message": "ok"}, "entries": {"remaincredit": 2268180}},
        )
        assert credit_check_all() == 2

    smsir.refresh_from_db()
    kavenegar.refresh_from_db()
    assert (smsir.credit, kavenegar.credit) == (Decimal("6000.50"), Decimal(2268180))
    assert smsir.credit_read_at is not None
    assert timezone.now() - smsir.credit_read_at < timedelta(seconds=10)


def test_a_failed_credit_check_keeps_the_last_reading(db):
    account = make_engine(kind="smsir", api_url="http://127.0.0.1:9/smsir")
    credit_store(engine=account, credit=Decimal(700))
    with aioresponses() as fake:
        fake.get("http://127.0.0.1:9/smsir/v1/credit", status=502, body="<html>")
        assert credit_check_all() == 0

    account.refresh_from_db()
    assert account.credit == Decimal(700)


def test_a_credit_check_refused_for_the_key_is_a_configuration_error(db):
    account = make_engine(kind="smsir", api_url="http://127.0.0.1:9/smsir")
    with aioresponses() as fake:
        fake.get("http://127.0.0.1:9/smsir/v1/credit", status=401, payload={"status": 10, "message": "bad key"})
        credit_check_all()

    account.refresh_from_db()
    assert account.config_error_code == "10"
