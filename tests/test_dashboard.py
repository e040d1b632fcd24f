"""Every query of the shipped Grafana dashboard names metrics that a running gateway really exports."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.test import Client as DjangoClient
from django.test import override_settings
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from messaging.models import Engine, VerifyRequests
from messaging.services.config import providers_load
from messaging.services.credit import credit_check_all
from messaging.services.reports import reports_poll
from messaging.tests.conftest import gateway_config
from messaging.tests.test_e2e import BODY, final
from tests.processes import wait_for

DASHBOARD = Path(__file__).resolve().parent.parent / "deploy" / "grafana" / "sms-gateway.json"
_NAME = re.compile(r"\bsms_gateway_[a-z_]+")


def dashboard_queries() -> list[str]:
    board = json.loads(DASHBOARD.read_text())
    # Rows (section headings) have no queries of their own.
    return [target["expr"] for panel in board["panels"] for target in panel.get("targets", [])]


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_every_dashboard_metric_is_exported(sim, worker, api, settings):
    config = gateway_config(sim.url, read_timeout=1.0)
    config["engines"][0]["provider_token"] = "a-key-smsir-does-not-know"
    providers_load(data=config)  # SMS.IR refuses the key: a configuration error, then a failover to Kavenegar
    accepted = api.post("/sendsms/", BODY, format="json")
    assert final(accepted.json()["id"]).flag == VerifyRequests.Flag.DONE
    # The report the simulator has for it, asked for as beat's poller would (once no pump holds the worker).
    VerifyRequests.objects.filter(id=accepted.json()["id"]).update(report_next_at=timezone.now())
    wait_for(reports_poll, timeout=15, interval=0.5, message="the delivery report to be polled")
    credit_check_all()  # the credit endpoints, as beat's credit check would
    Engine.objects.update(low_credit_threshold=Decimal(100))
    with override_settings(SMS_GATEWAY={**settings.SMS_GATEWAY, "TEST_NUMBERS": {"+989121110000": "424242"}}):
        started = api.post("/verifications/", {"phone": "09121110000", "template_id": 1}, format="json")
        api.post(f"/verifications/{started.json()['id']}/check/", {"code": "424242"}, format="json")

    def exported() -> set[str]:
        scraped = DjangoClient().get("/metrics").content.decode()
        return {sample.name for family in text_string_to_metric_families(scraped) for sample in family.samples}

    # The worker's heartbeat (every SMS_HEARTBEAT_SECONDS) also lands in the scrape.
    def with_heartbeat() -> set[str] | None:
        found = exported()
        return found if "sms_gateway_heartbeat_age_seconds" in found else None

    names = wait_for(
        with_heartbeat,
        timeout=settings.PROBES["HEARTBEAT_SECONDS"] + 5,
        interval=0.5,
        message="the worker's heartbeat in /metrics",
    )

    queries = dashboard_queries()
    assert len(queries) >= 18
    named = {name for query in queries for name in _NAME.findall(query)}
    missing = named - names
    assert not missing, f"the dashboard queries metrics the gateway does not export: {sorted(missing)}"
