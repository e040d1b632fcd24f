"""Sentry: failovers are warnings, FAILED requests errors, tagged, and nothing personal leaves unmasked."""

from __future__ import annotations

import json
from typing import Any

import pytest
import sentry_sdk

from messaging.models import VerifyRequests
from messaging.services.delivery import requests_deliver
from messaging.tests.conftest import new_request

pytestmark = pytest.mark.django_db


def _deliver(client: Any, code: str) -> VerifyRequests:
    request = new_request(client, code=code)
    requests_deliver(request_ids=[request.id])
    request.refresh_from_db()
    return request


def test_failover_is_a_warning_event_with_engine_code_and_request_tags(gateway, api_client_key, sentry_events):
    gateway.fault("smsir", "credit")
    request = _deliver(api_client_key[0], "482913")
    sentry_sdk.flush()

    assert request.flag == VerifyRequests.Flag.DONE
    [event] = [e for e in sentry_events if e.get("level") == "warning"]
    assert event["tags"]["engine"] == "smsir"
    assert event["tags"]["error_code"] == "102"
    assert event["tags"]["request_id"] == str(request.id)


def test_failed_request_is_an_error_event(gateway, api_client_key, sentry_events):
    gateway.fault("smsir", "invalid_number")
    request = _deliver(api_client_key[0], "482913")
    sentry_sdk.flush()

    assert request.flag == VerifyRequests.Flag.FAILED
    [event] = [e for e in sentry_events if e.get("level") == "error"]
    assert event["tags"]["request_id"] == str(request.id)
    assert event["tags"]["engine"] == "smsir"
    assert event["tags"]["error_code"] == "104"


def test_no_event_carries_a_phone_number_or_token_value(gateway, api_client_key, sentry_events):
    gateway.fault("all", "http500")
    _deliver(api_client_key[0], "482913")
    gateway.fault("all", "invalid_number")
    _deliver(api_client_key[0], "482913")
    with sentry_sdk.new_scope() as scope:
        # Even what a careless caller attaches is masked on the way out.
        scope.set_extra("request_body", {"phone": "09121234567", "token_value": {"code": "482913"}})
        sentry_sdk.capture_message("about +989121234567 and 00989121234567")
    sentry_sdk.flush()

    dumped = json.dumps(sentry_events)
    assert len(sentry_events) >= 3
    assert "9121234567" not in dumped
    assert "482913" not in dumped
    assert "kavenegar-test-key" not in dumped
    assert "0912***4567" in dumped
