"""The kombu Redis transport fixes (smsproject/kombu_fixes.py) against a real redis-server frozen with SIGSTOP."""

from __future__ import annotations

from pathlib import Path

import pytest
import redis
from kombu import Connection, Exchange, Queue

import smsproject.celery  # noqa: F401  (applies the fixes, as every worker does at start)
from tests.faults.stack import RedisServer

OPTIONS = {"socket_timeout": 0.5, "socket_connect_timeout": 0.5, "retry_on_timeout": False}


@pytest.mark.servers
def test_an_acknowledgement_a_frozen_redis_times_out_still_frees_the_prefetch_slot(tmp_path: Path) -> None:
    server = RedisServer(tmp_path / "redis")
    server.start()
    try:
        with Connection(server.url(), transport_options=OPTIONS) as connection:
            channel = connection.channel()
            channel.basic_qos(0, 1, False)  # the shipped worker: one pool process, prefetch multiplier 1
            queue = Queue("tasks", Exchange("tasks"), "tasks")
            connection.Producer(channel).publish(
                {"id": 1}, exchange=queue.exchange, routing_key="tasks", declare=[queue]
            )
            message = channel.basic_get("tasks", no_ack=False)
            assert message is not None and not channel.qos.can_consume()

            server.freeze()
            try:
                with pytest.raises(redis.exceptions.RedisError):
                    channel.basic_ack(message.delivery_tag)
            finally:
                server.thaw()

            # Without the fix the slot stays taken and a worker never asks Redis for its next message. (Whether
            # Redis applied the acknowledgement once thawed depends on whether the command reached its socket.)
            assert channel.qos.can_consume()
    finally:
        server.stop()
