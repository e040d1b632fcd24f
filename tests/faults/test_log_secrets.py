"""What the API and the worker really write to their logs during a verification flow holds no code, token
value, full phone number or key, at DEBUG and at the shipped INFO (``LOG_LEVEL``; the worker's ``-l``).

DEBUG stands for every level above it: a level only decides which records are written, each record is
masked the same way whatever the level, and nothing in the project logs differently by level. So what
WARNING, ERROR or CRITICAL would write is a part of what DEBUG writes for the same flow.

The processes are the fault stack's (gunicorn, a Celery worker started as the README starts it, beat) on its
own PostgreSQL and Redis, with the provider simulator; their logs are their whole stdout and stderr.
"""

from __future__ import annotations

import time

import pytest

from tests.faults.stack import SECRET, Stack, http
from tests.processes import wait_for

pytestmark = [pytest.mark.faults, pytest.mark.timeout(300)]
LEVELS = ["DEBUG", "INFO"]
# Ten digits, so a code cannot turn up by chance inside a timestamp, a port or a process id.
CODE_LENGTH = "10"
TOKEN = "Qx7Tk9Wm"


def phone_forms(national: str) -> list[str]:
    """Every way the number could be written in a log line: as sent, E.164, without the plus, bare."""
    bare = national[1:]
    return [national, f"+98{bare}", f"98{bare}", bare]


def flow(stack: Stack, phone: str, token_phone: str, requests_so_far: int) -> list[str]:
    """A verification (started, sent through a failing SMS.IR and then Kavenegar, checked wrong then right),
    a send with a token value, and a refused key; returns the secrets the logs must not hold."""
    auth = {"Authorization": f"Token {stack.key}"}
    stack.sim.fault("smsir", "http500", fail_first=1)  # a failover: both adapters' calls are made
    started = http("POST", f"{stack.api_url}/verifications/", {"phone": phone, "template_id": 1}, auth, timeout=10)
    assert started.status == 201, started.body
    [received] = wait_for(
        lambda: [r for r in stack.sim.received("kavenegar") if r["mobile"].endswith(phone[1:])],
        timeout=30,
        interval=0.1,
        message="the code to reach kavenegar",
    )
    code = str(received["params"]["token"])
    assert len(code) == int(CODE_LENGTH) and code.isdigit()
    check_url = f"{stack.api_url}/verifications/{started.body['id']}/check/"
    wrong = http("POST", check_url, {"code": "0" * int(CODE_LENGTH)}, auth, timeout=10)
    right = http("POST", check_url, {"code": code}, auth, timeout=10)
    assert (wrong.body["status"], right.body["status"]) == ("pending", "approved")

    body = {"phone": token_phone, "template_id": 1, "token_value": {"code": TOKEN}}
    sent = http("POST", f"{stack.api_url}/sendsms/", body, auth, timeout=10)
    assert sent.status == 202
    refused = http("POST", f"{stack.api_url}/sendsms/", body, {"Authorization": "Token not-a-real-key-123"}, 10)
    assert refused.status == 401
    stack.wait_all_final(requests_so_far + 2, timeout=60)
    return [code, TOKEN, stack.key, "not-a-real-key-123", SECRET, "smsir-test-key", "kavenegar-test-key"]


def test_no_code_token_phone_or_key_in_the_api_or_worker_logs_at_debug_and_info(make_stack):
    stack = make_stack(cache="redis", SMS_OTP_CODE_LENGTH=CODE_LENGTH)
    stack.beat()
    leaks: dict[str, list[str]] = {}
    lines_seen: dict[str, int] = {}
    for index, level in enumerate(LEVELS):
        stack.env["LOG_LEVEL"] = level  # for every process started from here on
        api = stack.api()
        worker = stack.worker(level=level)
        phone, token_phone = f"0912{index:03d}4567", f"0913{index:03d}7654"
        secrets = flow(stack, phone, token_phone, 2 * index) + phone_forms(phone) + phone_forms(token_phone)
        time.sleep(1)  # what the processes log after answering (task results, pump idling) is included
        api.stop()
        worker.stop()
        text = api.log.read_text(errors="replace") + worker.log.read_text(errors="replace")
        lines_seen[level] = text.count("\n")
        leaks[level] = sorted({secret for secret in secrets if secret in text})

    stack.summary("log_secrets", note=" ".join(f"{level}={count}_lines" for level, count in lines_seen.items()))
    assert lines_seen["DEBUG"] > lines_seen["INFO"] > 0  # DEBUG really logged more: the level took effect
    assert leaks == {level: [] for level in LEVELS}
