"""A provider that accepts the connection and never answers costs one read timeout, never a worker."""

from __future__ import annotations

import pytest

from tests.processes import wait_for

pytestmark = [pytest.mark.faults, pytest.mark.timeout(180)]


def test_a_hanging_provider_ends_at_its_read_timeout_and_fails_over_while_others_are_served(make_stack):
    stack = make_stack(read_timeout=2.0)
    stack.api()
    stack.worker()
    stack.sim.fault("smsir", "timeout", fail_first=1)  # only the first call hangs

    hung = stack.post()
    wait_for(lambda: stack.sim.received("smsir"), timeout=10, message="the hanging call to reach smsir")
    served = stack.post()
    assert (hung.status, served.status) == (202, 202)
    stack.wait_all_final(2, timeout=30)

    [(attempt_outcome, attempt_code, latency_ms)] = stack.rows(
        "SELECT outcome, error_code, latency_ms FROM messaging_attempt a JOIN messaging_engine e ON e.id = a.engine_id "
        "WHERE a.request_id = %s AND e.name = 'smsir'",
        hung.body["id"],
    )
    assert attempt_outcome == "timeout", attempt_code
    assert 1800 <= latency_ms <= 3500
    [(hung_flag, hung_system, hung_done)] = stack.rows(
        "SELECT r.flag, e.name, r.completed_at FROM messaging_verifyrequests r JOIN messaging_engine e "
        "ON e.id = r.system_id WHERE r.id = %s",
        hung.body["id"],
    )
    [(served_flag, served_done)] = stack.rows(
        "SELECT flag, completed_at FROM messaging_verifyrequests WHERE id = %s", served.body["id"]
    )
    assert (hung_flag, hung_system, served_flag) == ("DONE", "kavenegar", "DONE")
    assert served_done < hung_done  # served while the other request's call was still hanging
    summary = stack.summary("provider_never_answers", note=f"hung_attempt={latency_ms}ms")
    assert summary.duplicates == 0
