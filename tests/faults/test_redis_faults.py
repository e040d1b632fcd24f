"""The broker stopped, restarted empty, or frozen: the API keeps accepting, and every request is sent once."""

from __future__ import annotations

import threading
import time
from collections import Counter

import pytest

from tests.faults.stack import Reply, Stack
from tests.processes import wait_for

pytestmark = [pytest.mark.faults, pytest.mark.timeout(300)]


def sent_once_each(stack: Stack, expected: int) -> None:
    per_phone = Counter(record["mobile"] for record in stack.sim.received())
    assert len(per_phone) == expected
    assert set(per_phone.values()) == {1}


def test_redis_down_while_accepting_then_back_delivers_everything_once(make_stack):
    stack = make_stack()
    stack.api()
    stack.worker()
    stack.beat()
    stack.redis.stop()

    replies = stack.post_many(200, threads=4)
    assert [reply.status for reply in replies] == [202] * 200
    slowest = max(reply.elapsed for reply in replies)
    assert slowest < 1.0
    stack.redis.start()

    stack.wait_all_final(200, timeout=120)
    summary = stack.summary("redis_down_at_accept", note=f"slowest_202={slowest:.2f}s")
    assert summary.done == 200
    sent_once_each(stack, 200)


def test_redis_stopping_while_a_task_runs_does_not_end_the_worker(make_stack):
    # kombu 5.7's Redis transport ended the worker here ("Unrecoverable error", smsproject/kombu_fixes.py):
    # a task holding an unacked message while Redis goes away.
    stack = make_stack()
    stack.api()
    worker = stack.worker()
    stack.beat()
    for provider in ("smsir", "kavenegar"):
        stack.sim.fault(provider, "latency", latency_ms=1500)
    replies = stack.post_many(4, threads=4)
    wait_for(lambda: "messaging.deliver_" in worker.log.read_text(), timeout=10, interval=0.01, message="a task")
    time.sleep(0.2)  # the task is running: its message is not acknowledged yet
    stack.redis.stop()
    replies += stack.post_many(30, threads=4)
    stack.redis.start()
    for provider in ("smsir", "kavenegar"):
        stack.sim.fault(provider, "ok")
    stack.wait_all_final(34, timeout=90)
    replies += stack.post_many(10, threads=2)  # delivered only if the worker still consumes
    stack.wait_all_final(44, timeout=60)

    log = worker.log.read_text()
    assert worker.process is not None and worker.process.poll() is None
    assert "Unrecoverable error" not in log
    assert [reply.status for reply in replies] == [202] * 44
    summary = stack.summary("redis_stopped_mid_task", note=f"restored_unacked={log.count('Restoring')}")
    assert summary.done == 44
    sent_once_each(stack, 44)


def test_redis_restarted_empty_loses_no_request_and_the_worker_reconnects(make_stack):
    stack = make_stack()
    stack.api()
    stack.beat()
    replies = stack.post_many(300)
    assert [reply.status for reply in replies] == [202] * 300
    stack.redis.stop()  # no persistence: every queued message is gone
    stack.redis.start()
    stack.worker()
    stack.wait_all_final(300, timeout=120)

    stack.redis.stop()
    stack.redis.start()
    later = stack.post_many(20, threads=2)
    assert [reply.status for reply in later] == [202] * 20
    stack.wait_all_final(320, timeout=120)
    summary = stack.summary("redis_restarted_empty", note="300 waiting with workers stopped + 20 after a 2nd restart")
    assert summary.done == 320
    sent_once_each(stack, 320)


@pytest.mark.parametrize(
    ("pump", "cache"), [("1", "redis"), ("0", "db")], ids=["pump-redis-cache", "task-per-request-db-cache"]
)
def test_redis_frozen_keeps_the_api_answering_and_wedges_no_worker(make_stack, pump, cache):
    frozen_for = 30.0  # longer than every Redis timeout: a worker must not stay wedged past them
    stack = make_stack(cache=cache, SMS_PUMP_ENABLED=pump)
    stack.api()
    # The shipped command (one pool process) in both modes: an acknowledgement the freeze times out must not
    # leave its prefetch slot taken (smsproject/kombu_fixes.py, tests/test_kombu_fixes.py).
    stack.worker()
    stack.beat()
    replies: list[Reply] = []
    stop = threading.Event()

    def light_load() -> None:
        while not stop.is_set():
            replies.append(stack.post_recorded(timeout=10))  # every request, including a hang or an error
            time.sleep(0.25)

    load = threading.Thread(target=light_load)
    load.start()
    try:
        time.sleep(2)
        stack.redis.freeze()
        time.sleep(frozen_for)
        stack.redis.thaw()
        time.sleep(3)
    finally:
        stop.set()
        load.join(30)
    assert not load.is_alive()
    after_thaw = [stack.post_recorded(timeout=10) for _ in range(10)]

    slowest = max(reply.elapsed for reply in replies + after_thaw)
    not_accepted = [(reply.status, reply.body) for reply in replies + after_thaw if reply.status != 202]
    assert not_accepted == []
    assert slowest < 2.0
    total = len(replies) + 10
    stack.wait_all_final(total, timeout=120)
    note = f"sigstop={frozen_for:.0f}s slowest_api_answer={slowest:.2f}s"
    summary = stack.summary(f"redis_frozen[pump={pump},cache={cache}]", note=note)
    assert summary.done == total
    sent_once_each(stack, total)
