"""RabbitMQ as the broker, stopped and restarted under load: every 202 ends, and none is sent twice.

The stack runs its own RabbitMQ node (``stack.RabbitMQServer``). A graceful stop closes every connection:
the worker's unacknowledged messages go back to their durable queue, the running tasks finish without a
broker, publishers fail fast, and everything reconnects once the node is back.
"""

from __future__ import annotations

import re
import time
from collections import Counter

import pytest

from tests.faults.test_database_faults import posting
from tests.processes import wait_for

pytestmark = [pytest.mark.faults, pytest.mark.timeout(300)]


def sweeps_since_reconnect(log: str) -> int:
    """Sweeps the worker received after it reconnected that it had not received before: published after the
    restart, not redelivered from the queue (0 until the worker has reconnected)."""
    before, _, after = log.rpartition("Connected to amqp://")
    if "Connected to amqp://" not in before:
        return 0
    received = re.compile(r"messaging\.check_pending_requests\[([0-9a-f-]+)\] received")
    return len(set(received.findall(after)) - set(received.findall(before)))


def test_rabbitmq_stopped_and_restarted_under_load_ends_every_202_and_sends_none_twice(make_stack):
    stack = make_stack(broker="rabbitmq")
    assert stack.rabbitmq is not None
    stack.api()
    worker = stack.worker()  # as the README starts one: prefork, one pool process
    stack.beat()
    stack.sim.fault("all", "latency", latency_ms=300)  # calls in flight, and tasks running, when the broker goes

    with posting(stack) as replies:
        wait_for(lambda: stack.flags()["DONE"] >= 20, timeout=60, message="deliveries under way")
        stack.rabbitmq.stop()
        down_since = time.monotonic()
        time.sleep(3)
        stack.rabbitmq.start()
        down_for = time.monotonic() - down_since
        time.sleep(3)
    statuses = Counter(reply.status for reply in replies)
    slowest = max(reply.elapsed for reply in replies)
    assert statuses == {202: len(replies)}
    assert slowest < 2.0  # a publish that cannot reach the broker gives up within its 1 s connect timeout

    stack.sim.fault("all", "ok")
    stack.wait_all_final(len(replies), timeout=120)
    # Beat's sweep, the safety net for every lost publish, reaches the worker through the restarted broker.
    wait_for(lambda: sweeps_since_reconnect(worker.log.read_text()), timeout=30, message="a sweep after the restart")
    log = worker.log.read_text()
    assert worker.process is not None and worker.process.poll() is None  # the same worker, reconnected
    assert "Unrecoverable error" not in log
    summary = stack.summary(
        "rabbitmq_stopped_under_load",
        note=f"down={down_for:.1f}s slowest_202={slowest:.2f}s worker_connects={log.count('Connected to amqp://')}",
    )
    assert summary.done == len(replies)
    per_phone = Counter(record["mobile"] for record in stack.sim.received())
    assert len(per_phone) == len(replies)
    assert set(per_phone.values()) == {1}
