"""The shared circuit breaker across two worker processes: a failing provider gets no traffic while the breaker
is open, exactly one probe after the cool-down, and its traffic back once a probe succeeds."""

from __future__ import annotations

import time

import pytest

from tests.faults.stack import Stack

pytestmark = [pytest.mark.faults, pytest.mark.timeout(240)]
THRESHOLD = 3
COOLDOWN = 8.0


def smsir_calls(stack: Stack) -> int:
    return len(stack.sim.received("smsir"))


def send(stack: Stack, count: int, threads: int = 4) -> list[int]:
    replies = stack.post_many(count, threads=threads)
    assert [reply.status for reply in replies] == [202] * count
    ids = [reply.body["id"] for reply in replies]
    expected = stack.rows("SELECT count(*) FROM messaging_verifyrequests")[0][0]
    stack.wait_all_final(expected, timeout=60)
    return ids


def skipped_attempts(stack: Stack, ids: list[int]) -> list[str]:
    return [
        message
        for (message,) in stack.rows(
            "SELECT a.error_message FROM messaging_attempt a JOIN messaging_engine e ON e.id = a.engine_id "
            "WHERE e.name = 'smsir' AND a.outcome = 'skipped' AND a.request_id = ANY(%s)",
            ids,
        )
    ]


def test_an_open_breaker_starves_the_failing_engine_then_lets_exactly_one_probe_through(make_stack):
    stack = make_stack(cache="redis", SMS_BREAKER_THRESHOLD=str(THRESHOLD), SMS_BREAKER_COOLDOWN_SECONDS=str(COOLDOWN))
    stack.api()
    stack.worker()
    stack.worker()
    stack.sim.fault("smsir", "http500")

    # One request at a time, each ended before the next: every failure is counted before the next call could
    # start, so exactly THRESHOLD calls open the breaker and the requests after them never reach smsir.
    tripping = [send(stack, 1, threads=1)[0] for _ in range(THRESHOLD + 3)]
    tripped = smsir_calls(stack)
    opened_at = stack.sim.received("smsir")[THRESHOLD - 1]["received_at"]
    assert tripped == THRESHOLD
    assert skipped_attempts(stack, tripping[THRESHOLD:]) == ["skipped: breaker open"] * 3

    while_open = send(stack, 20)
    assert time.time() < opened_at + COOLDOWN, "the open-breaker phase outlasted the cool-down; raise COOLDOWN"
    assert smsir_calls(stack) == tripped  # zero calls while open
    assert skipped_attempts(stack, while_open) == ["skipped: breaker open"] * 20
    code = (
        "from messaging.breaker import breaker_state; from messaging.models import Engine; "
        "print('STATE', breaker_state(Engine.objects.get(name='smsir').id).state)"
    )
    state = stack.manage("shell", "-c", code).split("STATE ")[-1].strip()
    assert state == "open"

    time.sleep(max(0.0, opened_at + COOLDOWN + 1 - time.time()))
    send(stack, 20)
    probes_failing = smsir_calls(stack) - tripped
    assert probes_failing == 1  # one probe, by whichever process won; it failed and re-opened the breaker

    stack.sim.fault("smsir", "ok")
    time.sleep(COOLDOWN + 1)
    before = smsir_calls(stack)
    send(stack, 1, threads=1)  # the probe succeeds and closes the breaker
    recovered = send(stack, 10)
    assert smsir_calls(stack) - before == 11
    assert skipped_attempts(stack, recovered) == []
    summary = stack.summary(
        "breaker_two_workers",
        note=f"threshold={THRESHOLD} tripping_calls={tripped} calls_while_open=0 probes_after_cooldown="
        f"{probes_failing} after_recovery=11/11",
    )
    assert summary.duplicates == summary.duplicates_explained == 0
