"""Every request queued ten times, two beat processes sweeping: still exactly one SMS per request."""

from __future__ import annotations

import time
from collections import Counter

import pytest

pytestmark = [pytest.mark.faults, pytest.mark.timeout(300)]
REQUESTS = 100


def test_each_request_queued_ten_times_with_two_beats_sends_exactly_one_sms_each(make_stack):
    stack = make_stack()
    stack.api()
    replies = stack.post_many(REQUESTS)
    assert [reply.status for reply in replies] == [202] * REQUESTS
    stack.publish([reply.body["id"] for reply in replies], times=10)
    stack.beat()
    stack.beat()
    stack.worker()

    stack.wait_all_final(REQUESTS, timeout=120)
    time.sleep(4)  # let every duplicate task and both beats' sweeps run: none may send again
    summary = stack.summary("queued_ten_times_two_beats", note=f"tasks_published={REQUESTS * 10}+")
    per_phone = Counter(record["mobile"] for record in stack.sim.received())
    assert len(stack.sim.received()) == REQUESTS
    assert set(per_phone.values()) == {1}
    assert summary.duplicates == 0
