"""End to end: the API here, a real Celery worker process, and the provider simulator over HTTP."""

from __future__ import annotations

from typing import Any

import pytest

from messaging.models import VerifyRequests
from messaging.services.config import providers_load
from messaging.tests.conftest import gateway_config
from tests.processes import wait_for
from verifications.tests.conftest import check, database_text, gateway, start

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def live(sim, worker, transactional_db) -> Any:
    providers_load(data=gateway_config(sim.url, read_timeout=1.0))
    return sim


def test_the_code_the_simulator_received_approves_and_is_nowhere_in_the_database(live, api):
    # Ten digits, so the code cannot turn up by chance inside a timestamp's microseconds.
    with gateway(OTP_CODE_LENGTH=10):
        response = start(api)
    assert response.status_code == 201
    data = response.json()

    [received] = wait_for(lambda: live.received("smsir"), timeout=30, interval=0.1, message="the code to arrive")
    [parameter] = received["body"]["parameters"]
    code = parameter["value"]
    assert parameter["name"] == "CODE" and len(code) == 10 and code.isdigit()
    # The provider has the call before the worker has written its outcome: wait for the row to end.
    request = wait_for(
        lambda: VerifyRequests.objects.filter(id=data["send_request_id"], completed_at__isnull=False).first(),
        timeout=10,
        interval=0.1,
        message="the send request to end",
    )
    assert (request.flag, request.system.name) == ("DONE", "smsir")

    assert code not in database_text()
    approved = check(api, data["id"], code)
    assert approved.json()["status"] == "approved"
    assert code not in database_text()
