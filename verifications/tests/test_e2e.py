"""End to end: the API here, a real Celery worker process, and the provider simulator over HTTP."""

from __future__ import annotations

import time
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


def test_test_numbers_from_the_environment_reach_no_provider(live, api):
    import json
    import os
    import subprocess
    import sys

    from tests.processes import ROOT

    # SMS_TEST_NUMBERS as an operator writes it, parsed by the project's settings in a process of their own.
    parsed = subprocess.run(
        [
            sys.executable,
            "-c",
            "import json; from django.conf import settings; print(json.dumps(settings.SMS_GATEWAY['TEST_NUMBERS']))",
        ],
        cwd=ROOT,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "smsproject.settings",
            "SMS_TEST_NUMBERS": "09120000000:4242, 09120000001:123456",
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    test_numbers = json.loads(parsed.stdout)
    assert test_numbers == {"09120000000": "4242", "09120000001": "123456"}

    with gateway(TEST_NUMBERS=test_numbers):
        tested = start(api, "09120000000")
        real = start(api, "09121234567")  # sent after the test number, through the same worker
    assert (tested.status_code, real.status_code) == (201, 201)
    wait_for(lambda: live.received(), timeout=30, interval=0.1, message="the real number's code to arrive")
    time.sleep(1)  # anything queued for the test number would have been sent by now, right behind the other
    assert [record["mobile"] for record in live.received()] == ["+989121234567"]
    with gateway(TEST_NUMBERS=test_numbers):
        assert check(api, tested.json()["id"], "4242").json()["status"] == "approved"
