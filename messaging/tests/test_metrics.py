"""``/metrics``: what the API and a real worker process count, what is read at scrape time, and who may read it."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client as DjangoClient
from django.test import override_settings
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from messaging import breaker
from messaging.models import Engine, VerifyRequests
from messaging.services.config import providers_load
from messaging.services.scores import Outcomes, scores_rebuild, scores_record
from messaging.tests.conftest import UNREACHABLE_CACHE, gateway_config
from messaging.tests.test_e2e import BODY, final
from messaging.tests.test_reports import KAVENEGAR_STATUS, SMSIR_STATUS, done, kavenegar_answer, smsir_answer

Flag = VerifyRequests.Flag


def scrape(**headers: Any) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = DjangoClient().get("/metrics", **headers)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_api_and_worker_counts_reach_one_scrape_and_worker_lines_carry_the_request_id(sim, worker, api):
    providers_load(data=gateway_config(sim.url, read_timeout=1.0))
    before = scrape()
    sim.fault("smsir", "http500")

    response = api.post("/sendsms/", BODY, format="json", HTTP_X_REQUEST_ID="trace-e2e-1")
    assert response.status_code == 202
    assert final(response.json()["id"]).flag == Flag.DONE
    failover_lines = [line for line in worker.log.read_text().splitlines() if "[trace-e2e-1] failover" in line]
    assert len(failover_lines) == 1 and "smsir failed with http_500" in failover_lines[0]

    after = scrape()

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    # Counted by the API process (this one) ...
    assert delta("sms_gateway_requests_accepted_total", template="1") == 1
    # ... and by the worker process, which shares the metrics folder.
    assert delta("sms_gateway_attempts_total", engine="smsir", outcome="failed", error_code="http_500") == 1
    assert delta("sms_gateway_attempts_total", engine="kavenegar", outcome="sent", error_code="") == 1
    assert delta("sms_gateway_requests_ended_total", flag="DONE") == 1
    assert delta("sms_gateway_provider_call_seconds_count", engine="smsir") == 1
    assert delta("sms_gateway_provider_call_seconds_count", engine="kavenegar") == 1


def test_queue_gauges_are_read_at_scrape_time(db, api):
    from messaging.tests.conftest import new_request

    providers_load(data=gateway_config("http://127.0.0.1:9"))
    waiting = new_request(api.gateway_client)
    VerifyRequests.objects.filter(id=waiting.id).update(next_attempt_at=timezone.now() - timedelta(seconds=90))
    sending = new_request(api.gateway_client)
    VerifyRequests.objects.filter(id=sending.id).update(flag=Flag.SENDING)

    samples = scrape()

    assert value(samples, "sms_gateway_queue_depth", flag="PENDING") == 1
    assert value(samples, "sms_gateway_queue_depth", flag="SENDING") == 1
    assert 89 <= value(samples, "sms_gateway_oldest_due_request_age_seconds") < 120


def test_breaker_state_per_engine(db):
    providers_load(data=gateway_config("http://127.0.0.1:9"))
    engine_id = Engine.objects.get(name="smsir").id
    for _ in range(5):
        breaker.breaker_record(engine_id, healthy=False)

    samples = scrape()

    assert value(samples, "sms_gateway_breaker_state", engine="smsir") == 2
    assert value(samples, "sms_gateway_breaker_state", engine="kavenegar") == 0
    assert value(samples, "sms_gateway_engine_enabled", engine="smsir") == 1


def test_routing_scores_per_engine_and_operator_are_read_at_scrape_time(db):
    providers_load(data=gateway_config("http://127.0.0.1:9"))
    smsir, kavenegar = (Engine.objects.get(name=name).id for name in ("smsir", "kavenegar"))
    scores_rebuild()
    learned = Outcomes()
    for state in ("delivered", "delivered", "delivered", "undelivered"):
        learned.report(smsir, "IR-MCI", state)
    learned.code_sent(kavenegar, "")  # a code, but no outcome yet: no delivered share
    scores_record(learned)

    samples = scrape()

    mci = {"engine": "smsir", "operator": "IR-MCI"}
    assert value(samples, "sms_gateway_routing_score", **mci) == pytest.approx((3 + 0.9 * 5) / (4 + 5))
    assert value(samples, "sms_gateway_routing_delivered_ratio", **mci) == 0.75
    assert value(samples, "sms_gateway_routing_evidence", **mci) == 4
    unknown = {"engine": "kavenegar", "operator": "unknown"}
    assert value(samples, "sms_gateway_routing_score", **unknown) == pytest.approx(0.9)
    assert value(samples, "sms_gateway_routing_evidence", **unknown) == 0
    assert ("sms_gateway_routing_delivered_ratio", tuple(sorted(unknown.items()))) not in samples


def test_a_cache_outage_leaves_the_routing_gauges_out_of_the_scrape(db):
    providers_load(data=gateway_config("http://127.0.0.1:9"))
    scores_rebuild()
    learned = Outcomes()
    learned.report(Engine.objects.get(name="smsir").id, "IR-MCI", "delivered")
    scores_record(learned)

    with override_settings(CACHES=UNREACHABLE_CACHE):
        samples = scrape()

    assert value(samples, "sms_gateway_engine_enabled", engine="smsir") == 1
    routing = {"sms_gateway_routing_score", "sms_gateway_routing_delivered_ratio", "sms_gateway_routing_evidence"}
    assert not [name for name, _ in samples if name in routing]


def test_verification_events_are_counted_by_template(db, api, django_capture_on_commit_callbacks):
    providers_load(data=gateway_config("http://127.0.0.1:9"))
    before = scrape()
    test_numbers = {**_gateway(), "TEST_NUMBERS": {"+989121110000": "424242"}}
    with override_settings(SMS_GATEWAY=test_numbers), django_capture_on_commit_callbacks(execute=True):
        started = api.post("/verifications/", {"phone": "09121110000", "template_id": 1}, format="json")
        assert started.status_code == 201, started.content
        checked = api.post(f"/verifications/{started.json()['id']}/check/", {"code": "424242"}, format="json")
        assert checked.json()["status"] == "approved"
    after = scrape()

    for event in ("started", "approved"):
        labels = {"template": "1", "event": event}
        assert (
            value(after, "sms_gateway_verifications_total", **labels)
            - value(before, "sms_gateway_verifications_total", **labels)
            == 1
        )


def test_no_phone_code_or_request_id_in_any_label(db, api):
    providers_load(data=gateway_config("http://127.0.0.1:9"))
    response = api.post("/sendsms/", BODY, format="json")
    assert response.status_code == 202

    text = DjangoClient().get("/metrics").content.decode()

    assert "9121234567" not in text
    assert "123456" not in text
    assert not re.search(r'\w+="\d{5,}"', text)  # no label holds an id-like number


@override_settings(METRICS_TOKEN="scrape-secret")
def test_bearer_token_guards_the_metrics(db):
    refused = DjangoClient().get("/metrics")
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "not_authenticated"
    assert DjangoClient().get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    assert scrape(HTTP_AUTHORIZATION="Bearer scrape-secret")


@override_settings(METRICS_ALLOWED_IPS=["10.9.0.0/16", "::1"])
def test_ip_allowlist_guards_the_metrics(db):
    refused = DjangoClient(REMOTE_ADDR="127.0.0.1").get("/metrics")
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "permission_denied"
    assert DjangoClient(REMOTE_ADDR="10.9.3.4").get("/metrics").status_code == 200
    assert DjangoClient(REMOTE_ADDR="::1").get("/metrics").status_code == 200


def test_metrics_answer_only_reads(db):
    response = DjangoClient().post("/metrics")
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"


def test_metrics_switched_off(db, api, monkeypatch):
    from common import metrics

    providers_load(data=gateway_config("http://127.0.0.1:9"))
    monkeypatch.setattr(metrics, "enabled", lambda: False)
    before = metrics.ACCEPTED.labels("1")._value.get()
    assert api.post("/sendsms/", BODY, format="json").status_code == 202
    assert metrics.ACCEPTED.labels("1")._value.get() == before

    with override_settings(METRICS_ENABLED=False):
        response = DjangoClient().get("/metrics")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def _gateway() -> dict[str, Any]:
    from django.conf import settings

    return dict(settings.SMS_GATEWAY)


def test_final_delivery_reports_are_counted_by_engine_and_state(fake, smsir, kavenegar, api_client_key, monkeypatch):
    monkeypatch.setattr("messaging.services.reports.pump_is_running", lambda: False)  # a pump elsewhere yields
    from messaging.services.reports import reports_poll

    before = scrape()
    client = api_client_key[0]
    done(client, smsir, "41")
    done(client, smsir, "42")
    done(client, kavenegar, "77")
    fake.get(SMSIR_STATUS, payload=smsir_answer(1, 1764660007), repeat=True)
    fake.post(KAVENEGAR_STATUS, callback=lambda url, **kw: kavenegar_answer({"77": 11}))

    assert reports_poll() == 3
    after = scrape()

    def delta(**labels: str) -> float:
        name = "sms_gateway_delivery_reports_total"
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta(engine="smsir", state="delivered") == 2
    assert delta(engine="kavenegar", state="undelivered") == 1


def test_credit_and_account_problems_per_engine(db):
    providers_load(data=gateway_config("http://127.0.0.1:9"))
    Engine.objects.filter(name="smsir").update(credit=Decimal("1234.50"), low_credit_threshold=Decimal("2000"))
    Engine.objects.filter(name="kavenegar").update(out_of_credit=True, config_error_code="403")

    samples = scrape()

    assert value(samples, "sms_gateway_engine_credit", engine="smsir") == 1234.5
    assert value(samples, "sms_gateway_engine_credit_threshold", engine="smsir") == 2000
    assert ("sms_gateway_engine_credit", (("engine", "kavenegar"),)) not in samples  # never read: no sample
    assert value(samples, "sms_gateway_engine_out_of_credit", engine="kavenegar") == 1
    assert value(samples, "sms_gateway_engine_out_of_credit", engine="smsir") == 0
    assert value(samples, "sms_gateway_engine_configuration_error", engine="kavenegar", code="403") == 1
    assert ("sms_gateway_engine_configuration_error", (("code", ""), ("engine", "smsir"))) in samples
