"""The delivery service against the real provider simulator on 127.0.0.1 (no worker: called in-process)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from messaging.models import Attempt, VerifyRequests
from messaging.services.delivery import requests_deliver
from messaging.services.outcomes import requests_reclaim_expired
from messaging.tests.conftest import engine, new_request

Flag = VerifyRequests.Flag
pytestmark = pytest.mark.django_db


@pytest.fixture
def client_obj(api_client_key: tuple[Any, str]) -> Any:
    return api_client_key[0]


def deliver(request: VerifyRequests) -> VerifyRequests:
    requests_deliver(request_ids=[request.id])
    request.refresh_from_db()
    return request


def test_delivers_through_smsir_with_the_documented_wire_format(gateway, client_obj):
    request = deliver(new_request(client_obj))

    assert (request.flag, request.tries, request.system.name) == (Flag.DONE, 1, "smsir")
    assert request.provider_message_id
    [received] = gateway.received("smsir")
    assert received["path"] == "/smsir/v1/send/verify"
    assert received["headers"]["x-api-key"] == "smsir-test-key" or received["headers"]["X-Api-Key"] == "smsir-test-key"
    assert received["body"] == {
        "mobile": "09121234567",
        "templateId": 100000,
        "parameters": [{"name": "CODE", "value": "123456"}],
    }
    assert gateway.received("kavenegar") == []
    [attempt] = request.attempts.all()
    assert (attempt.outcome, attempt.engine.name, attempt.http_status) == (Attempt.Outcome.SENT, "smsir", 200)


def test_kavenegar_receives_its_documented_form_fields(gateway, client_obj):
    engine("smsir").__class__.objects.filter(name="smsir").update(enabled=False)
    request = deliver(new_request(client_obj, code="4321"))

    assert (request.flag, request.system.name) == (Flag.DONE, "kavenegar")
    [received] = gateway.received("kavenegar")
    assert received["path"] == "/kavenegar/v1/kavenegar-test-key/verify/lookup.json"
    assert received["body"] == {"receptor": "09121234567", "template": "verify", "token": "4321"}


@pytest.mark.parametrize(
    ("mode", "outcome"),
    [
        ("http500", Attempt.Outcome.FAILED),
        ("timeout", Attempt.Outcome.TIMEOUT),
        ("reset", Attempt.Outcome.FAILED),
        ("garbage", Attempt.Outcome.FAILED),
        ("credit", Attempt.Outcome.FAILED),
        ("rate_limit", Attempt.Outcome.FAILED),
        ("bad_key", Attempt.Outcome.FAILED),
        ("template_not_found", Attempt.Outcome.FAILED),
    ],
)
def test_failover_to_kavenegar_when_smsir_fails(gateway, client_obj, mode, outcome):
    gateway.fault("smsir", mode)
    request = deliver(new_request(client_obj))

    assert (request.flag, request.system.name, request.tries) == (Flag.DONE, "kavenegar", 2)
    first, second = request.attempts.order_by("id")
    assert (first.engine.name, first.outcome) == ("smsir", outcome)
    assert first.error_code
    assert (second.engine.name, second.outcome) == ("kavenegar", Attempt.Outcome.SENT)
    assert len(gateway.received("smsir")) == 1
    assert len(gateway.received("kavenegar")) == 1


def test_invalid_number_fails_at_once_and_never_reaches_kavenegar(gateway, client_obj):
    gateway.fault("smsir", "invalid_number")
    request = deliver(new_request(client_obj))

    assert (request.flag, request.tries, request.system) == (Flag.FAILED, 1, None)
    assert request.attempts.get().outcome == Attempt.Outcome.REJECTED
    assert gateway.received("kavenegar") == []


def test_both_down_waits_for_another_round_with_backoff(gateway, client_obj):
    gateway.fault("all", "http500")
    request = deliver(new_request(client_obj))

    assert (request.flag, request.rounds, request.tries) == (Flag.PENDING, 1, 2)
    assert request.next_attempt_at > timezone.now()
    assert "smsir" in request.last_error and "kavenegar" in request.last_error


def test_both_down_ends_failed_after_the_configured_rounds(gateway, client_obj, settings):
    settings.SMS_GATEWAY = {**settings.SMS_GATEWAY, "MAX_ROUNDS": 3}
    gateway.fault("all", "http500")
    request = new_request(client_obj)
    for _ in range(3):
        VerifyRequests.objects.filter(id=request.id).update(next_attempt_at=timezone.now())
        deliver(request)

    assert (request.flag, request.rounds, request.tries) == (Flag.FAILED, 3, 6)
    assert request.attempts.count() == 6
    assert request.completed_at is not None


def test_a_provider_that_recovers_between_rounds_delivers(gateway, client_obj):
    gateway.fault("all", "http500", fail_first=1)
    request = deliver(new_request(client_obj))
    assert request.flag == Flag.PENDING

    VerifyRequests.objects.filter(id=request.id).update(next_attempt_at=timezone.now())
    request = deliver(request)
    assert (request.flag, request.system.name, request.tries, request.rounds) == (Flag.DONE, "smsir", 3, 2)


def test_a_request_not_yet_due_is_not_sent(gateway, client_obj):
    request = deliver(new_request(client_obj, next_attempt_at=timezone.now() + timedelta(minutes=1)))
    assert request.flag == Flag.PENDING
    assert gateway.received() == []


def test_delivering_the_same_request_twice_sends_one_sms(gateway, client_obj):
    request = new_request(client_obj)
    requests_deliver(request_ids=[request.id, request.id])
    requests_deliver(request_ids=[request.id])

    assert len(gateway.received()) == 1


def test_a_request_past_its_send_before_is_never_sent(gateway, client_obj):
    request = deliver(new_request(client_obj, send_before=timezone.now() - timedelta(seconds=1)))

    assert request.flag == Flag.FAILED
    assert "expired" in request.last_error
    assert gateway.received() == []


def test_age_limit_fails_a_request_instead_of_another_round(gateway, client_obj, settings):
    settings.SMS_GATEWAY = {**settings.SMS_GATEWAY, "MAX_AGE_SECONDS": 1}
    gateway.fault("all", "http500")
    request = deliver(new_request(client_obj, queued_at=timezone.now() - timedelta(seconds=5)))
    assert request.flag == Flag.FAILED


def test_connection_refused_fails_over(gateway, client_obj):
    from tests.processes import free_port

    engine("smsir").__class__.objects.filter(name="smsir").update(api_url=f"http://127.0.0.1:{free_port()}/smsir")
    request = deliver(new_request(client_obj))

    assert (request.flag, request.system.name) == (Flag.DONE, "kavenegar")
    assert request.attempts.order_by("id").first().error_code == "connect_error"


def test_misconfigured_engine_is_recorded_and_skipped(gateway, client_obj):
    engine("smsir").__class__.objects.filter(name="smsir").update(provider_token=" ")
    request = deliver(new_request(client_obj))

    assert (request.flag, request.system.name) == (Flag.DONE, "kavenegar")
    assert request.attempts.order_by("id").first().error_code == "config_error"
    assert gateway.received("smsir") == []


def test_an_adapter_that_crashes_is_recorded_as_our_error_and_fails_over(gateway, client_obj, monkeypatch, caplog):
    from providers.smsir import SmsIrAdapter

    def crash(self: SmsIrAdapter, message: Any) -> Any:
        raise KeyError("a bug, not a vendor failure")

    monkeypatch.setattr(SmsIrAdapter, "build_request", crash)
    request = deliver(new_request(client_obj))

    assert (request.flag, request.system.name) == (Flag.DONE, "kavenegar")
    first = request.attempts.order_by("id").first()
    assert (first.outcome, first.error_code, first.error_message) == (
        Attempt.Outcome.FAILED,
        "internal_error",
        "KeyError",
    )
    assert "provider call crashed" in caplog.text


def test_an_edited_engine_is_sent_with_its_new_configuration(gateway, client_obj):
    assert deliver(new_request(client_obj)).system.name == "smsir"
    engine("smsir").__class__.objects.filter(name="smsir").update(provider_token="a-new-key")
    from messaging.services.routes import routes_changed

    routes_changed()
    deliver(new_request(client_obj, phone="+989121234568"))

    keys = [r["headers"].get("x-api-key") or r["headers"].get("X-Api-Key") for r in gateway.received("smsir")]
    assert keys == ["smsir-test-key", "a-new-key"]


def test_breaker_opens_after_consecutive_failures_and_skips_the_engine(gateway, client_obj, settings):
    settings.SMS_GATEWAY = {**settings.SMS_GATEWAY, "BREAKER_THRESHOLD": 2, "BREAKER_COOLDOWN_SECONDS": 60}
    gateway.fault("smsir", "http500")
    for _ in range(2):
        deliver(new_request(client_obj))
    assert len(gateway.received("smsir")) == 2

    request = deliver(new_request(client_obj))
    assert (request.flag, request.system.name, request.tries) == (Flag.DONE, "kavenegar", 1)
    skipped = request.attempts.get(engine__name="smsir")
    assert (skipped.outcome, skipped.error_message) == (Attempt.Outcome.SKIPPED, "skipped: breaker open")
    assert len(gateway.received("smsir")) == 2


def test_breaker_lets_one_probe_through_after_the_cooldown(gateway, client_obj, settings):
    import time_machine

    settings.SMS_GATEWAY = {**settings.SMS_GATEWAY, "BREAKER_THRESHOLD": 1, "BREAKER_COOLDOWN_SECONDS": 30}
    gateway.fault("smsir", "http500", fail_first=1)
    deliver(new_request(client_obj))
    assert deliver(new_request(client_obj)).system.name == "kavenegar"

    with time_machine.travel(timezone.now() + timedelta(seconds=31), tick=True):
        probe = deliver(new_request(client_obj, created_at=timezone.now(), queued_at=timezone.now()))
    assert (probe.flag, probe.system.name) == (Flag.DONE, "smsir")
    assert len(gateway.received("smsir")) == 2


def test_worker_lost_mid_send_is_taken_back_and_marked_as_timeout(gateway, client_obj):
    request = new_request(client_obj)
    VerifyRequests.objects.filter(id=request.id).update(
        flag=Flag.SENDING, lease_expires_at=timezone.now() - timedelta(seconds=1)
    )
    Attempt.objects.create(request=request, engine=engine("smsir"), outcome=Attempt.Outcome.IN_FLIGHT)

    assert requests_reclaim_expired() == 1
    request.refresh_from_db()
    assert request.flag == Flag.PENDING
    assert request.attempts.get().outcome == Attempt.Outcome.TIMEOUT

    assert deliver(request).flag == Flag.DONE


def test_routes_are_remembered_until_the_routing_changes(gateway):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from messaging.models import Engine, Templates
    from messaging.services.routes import routes_by_template, routes_changed

    template_id = Templates.objects.get().template_id
    assert [route.engine.name for route in routes_by_template({template_id})[template_id]] == ["smsir", "kavenegar"]
    with CaptureQueriesContext(connection) as queries:  # (the embedded cache is itself a table: filter it out)
        routes_by_template({template_id})
    assert not [query for query in queries.captured_queries if "templatesengine" in query["sql"]]

    Engine.objects.filter(name="smsir").update(enabled=False)  # no signal: the next line is what a save does
    routes_changed()
    assert [route.engine.name for route in routes_by_template({template_id})[template_id]] == ["kavenegar"]


def test_saving_an_engine_changes_the_routes_every_worker_uses(gateway):
    from messaging.models import Engine, Templates
    from messaging.services.routes import routes_by_template

    template_id = Templates.objects.get().template_id
    routes_by_template({template_id})
    engine = Engine.objects.get(name="kavenegar")
    engine.priority = 1
    engine.save()
    assert routes_by_template({template_id})[template_id][0].engine.name == "kavenegar"


def test_a_code_whose_next_round_would_come_after_its_send_before_fails_now_and_is_never_sent(
    gateway, client_obj, settings
):
    """Every provider down, the send-by time 20 s away and the next round at least 30 s away (60 s base, half
    of it at the least jitter): the request ends now instead of waiting, so it cannot be sent late."""
    settings.SMS_GATEWAY = {**settings.SMS_GATEWAY, "MAX_ROUNDS": 10, "BACKOFF_BASE_SECONDS": 60}
    gateway.fault("all", "http500")
    expiring = deliver(new_request(client_obj, send_before=timezone.now() + timedelta(seconds=20)))
    lasting = deliver(new_request(client_obj, phone="+989121234568"))  # the same, with no send-by time

    assert (expiring.flag, expiring.rounds) == (Flag.FAILED, 1)
    assert (lasting.flag, lasting.rounds) == (Flag.PENDING, 1)
    calls = len(gateway.received())
    gateway.fault("all", "ok")  # the providers come back: the failed request is not sent even now
    VerifyRequests.objects.filter(id=expiring.id).update(next_attempt_at=timezone.now())
    requests_deliver(request_ids=[expiring.id])
    assert len(gateway.received()) == calls
