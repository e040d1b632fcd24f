"""Request ids on every answer and log line, and JSON log lines that stay masked."""

from __future__ import annotations

import io
import json
import logging
import logging.config
from typing import Any

import pytest
from django.conf import settings

from common.logs import request_id_bound

pytestmark = pytest.mark.django_db

BODY = {"phone": "09121234567", "template_id": 1, "token_value": {"code": "123456"}}


@pytest.fixture
def template(db):
    from messaging.services.config import providers_load
    from messaging.tests.conftest import gateway_config

    providers_load(data=gateway_config("http://127.0.0.1:9"))


def test_a_callers_request_id_is_returned_and_stored(api, template):
    from messaging.models import VerifyRequests

    response = api.post("/sendsms/", BODY, format="json", HTTP_X_REQUEST_ID="lb-7f3a.42")
    assert response.status_code == 202
    assert response["X-Request-ID"] == "lb-7f3a.42"
    assert VerifyRequests.objects.get(id=response.json()["id"]).trace_id == "lb-7f3a.42"


def test_a_request_id_is_made_when_missing_or_unsafe(api, template):
    missing = api.post("/sendsms/", BODY, format="json")
    unsafe = api.post("/sendsms/", BODY, format="json", HTTP_X_REQUEST_ID="a b\nforged line")
    made = {missing["X-Request-ID"], unsafe["X-Request-ID"]}
    assert len(made) == 2
    assert all(len(value) == 32 and value.isalnum() for value in made)


def test_errors_before_any_view_carry_a_request_id(api):
    response = api.get("/no-such-page/")
    assert response.status_code == 404
    assert response["X-Request-ID"]


def _handler(log_format: str) -> tuple[logging.Logger, io.StringIO]:
    config: dict[str, Any] = dict(settings.LOGGING)
    config["handlers"] = {**config["handlers"], "console": {**config["handlers"]["console"], "formatter": log_format}}
    logging.config.dictConfig(config)
    stream = io.StringIO()
    root = logging.getLogger()
    root.handlers[0].setStream(stream)  # type: ignore[attr-defined]
    return logging.getLogger("messaging.events"), stream


@pytest.fixture
def restore_logging():
    yield
    logging.config.dictConfig(settings.LOGGING)


def test_json_lines_carry_request_id_and_fields_and_stay_masked(restore_logging):
    logger, stream = _handler("json")
    with request_id_bound("req-1"):
        logger.warning("failover for %s", "+989121234567", extra={"engine": "smsir", "outcome": "failover"})
    logger.warning("worker line", extra={"request_id": "req-2", "sms_id": 9})

    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert (first["level"], first["logger"], first["request_id"]) == ("WARNING", "messaging.events", "req-1")
    assert (first["engine"], first["outcome"]) == ("smsir", "failover")
    assert "9121234567" not in first["message"] and "0912***4567" in first["message"]
    assert (second["request_id"], second["sms_id"]) == ("req-2", 9)


def test_plain_lines_carry_the_request_id(restore_logging):
    logger, stream = _handler("plain")
    with request_id_bound("req-3"):
        logger.warning("hello")
    assert "[req-3] hello" in stream.getvalue()
