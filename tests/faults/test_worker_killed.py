"""Workers killed without warning: every accepted request still ends, and nothing is sent twice unseen."""

from __future__ import annotations

import os
import signal
import time

import pytest

from tests.processes import wait_for

pytestmark = [pytest.mark.faults, pytest.mark.timeout(300)]
IN_FLIGHT = 500


def test_sigkill_of_the_whole_worker_mid_load_loses_nothing(make_stack):
    stack = make_stack()
    stack.api()
    stack.beat()
    stack.sim.fault("all", "latency", latency_ms=400)
    # Accepted before the worker starts, so that all of them are in flight when it is killed.
    replies = stack.post_many(IN_FLIGHT)
    assert [reply.status for reply in replies] == [202] * IN_FLIGHT
    worker = stack.worker()
    wait_for(lambda: stack.flags()["DONE"] >= 40, timeout=60, message="the worker to be well into the load")
    at_kill = stack.flags()
    worker.kill()
    time.sleep(1)
    stack.worker()

    flags = stack.wait_all_final(IN_FLIGHT, timeout=180)
    summary = stack.summary(
        "sigkill_whole_worker",
        note=f"at_kill: done={at_kill['DONE']} sending={at_kill['SENDING']} pending={at_kill['PENDING']}",
    )
    assert flags["DONE"] == IN_FLIGHT
    assert summary.duplicates == summary.duplicates_explained


def test_sigkill_of_one_pool_child_during_a_provider_call_ends_the_row_without_a_send_loop(make_stack):
    stack = make_stack()
    stack.api()
    stack.beat()
    worker = stack.worker()  # prefork, one pool child: the shipped set-up
    stack.sim.fault("smsir", "latency", latency_ms=5000, fail_first=1)

    reply = stack.post()
    wait_for(lambda: stack.sim.received("smsir"), timeout=15, message="the call to reach smsir")
    [child] = worker.children()
    os.kill(child, signal.SIGKILL)

    stack.wait_all_final(1, timeout=60)
    time.sleep(3)  # a send loop would show up as more calls after the row ended
    attempts = stack.rows(
        "SELECT e.name, a.outcome, a.error_code FROM messaging_attempt a JOIN messaging_engine e ON e.id = a.engine_id "
        "WHERE a.request_id = %s ORDER BY a.id",
        reply.body["id"],
    )
    summary = stack.summary("sigkill_pool_child", note=f"attempts={attempts}")
    assert stack.flags()["DONE"] == 1
    assert attempts == [("smsir", "timeout", "worker_lost"), ("smsir", "sent", "")]
    assert len(stack.sim.received()) == 2
    assert summary.duplicates == summary.duplicates_explained == 1
