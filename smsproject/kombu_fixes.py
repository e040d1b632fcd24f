"""Two fixes for kombu's Redis transport (kombu 5.7.0), so that a worker survives Redis stopping or freezing.

``patch_redis_channel_close``: a worker ended when Redis went away mid-task. kombu's ``Channel.close`` first
reads the reply of a pending BRPOP. With Redis gone that read raises, so the close stops half-way: the channel
is not marked closed and still holds the unacknowledged message. ``Connection.collect()`` then detaches the
transport, and Celery 5.7's consumer closes the same channel a second time; restoring the unacked message now
needs a Redis client that cannot be built (``AttributeError: 'NoneType' object has no attribute 'hostname'``).
That is not a connection error, so the worker logs "Unrecoverable error" and exits, and beat goes on
publishing into a queue nobody reads. With acks_late that happens whenever Redis stops while a task runs: it
failed a fault test in CI (tests/faults/test_redis_faults.py) and a reproduction stopped the worker 7 times in 7.

The fix drops the unreadable reply first, so the first close completes while the transport is still
attached.

``patch_redis_qos_ack``: a frozen Redis that timed out an acknowledgement left the worker idle for good (its
docstring says how). If a later kombu no longer has the private names either fix relies on, nothing is patched.
"""

from __future__ import annotations

import contextlib
from queue import Empty
from typing import Any


def patch_redis_channel_close() -> bool:
    from kombu.transport import redis as kombu_redis

    channel = kombu_redis.Channel
    original = channel.close
    if getattr(original, "_sms_patched", False) or not hasattr(channel, "_brpop_read"):
        return False

    def close(self: Any) -> None:
        if getattr(self, "_in_poll", False):
            with contextlib.suppress(Empty, *self.connection_errors):
                self._brpop_read()  # clears _in_poll whatever happens
        original(self)

    close._sms_patched = True  # type: ignore[attr-defined]
    channel.close = close  # type: ignore[method-assign]
    return True


def patch_redis_qos_ack() -> bool:
    """Free a message's prefetch slot even when Redis cannot be told of its acknowledgement.

    kombu's Redis ``QoS.ack`` removes the message from Redis's unacked index, then frees the slot in the
    channel's prefetch count. When Redis times out (frozen) the first step raises and the second never runs;
    Celery logs "Couldn't ack" and goes on, but the slot stays taken. With the shipped one pool process the
    prefetch count is one: the consumer never asks Redis for another message, and the worker sits idle while
    its queue fills (seen in the task-per-request mode's Redis-freeze fault test). Freeing the slot anyway
    leaves the message in the unacked index: after the visibility timeout Redis hands it out again, and its
    task, which takes ids and claims before it sends, finds nothing left to do.
    """
    from kombu.transport import redis as kombu_redis
    from kombu.transport import virtual

    qos = kombu_redis.QoS
    if getattr(qos.ack, "_sms_patched", False) or not hasattr(qos, "_remove_from_indices"):
        return False
    original_ack, original_reject = qos.ack, qos.reject

    def ack(self: Any, delivery_tag: Any) -> None:
        try:
            original_ack(self, delivery_tag)
        except Exception:
            virtual.QoS.ack(self, delivery_tag)
            raise

    def reject(self: Any, delivery_tag: Any, requeue: bool = False) -> None:
        try:
            original_reject(self, delivery_tag, requeue=requeue)
        except Exception:
            virtual.QoS.ack(self, delivery_tag)
            raise

    ack._sms_patched = True  # type: ignore[attr-defined]
    qos.ack = ack  # type: ignore[method-assign]
    qos.reject = reject  # type: ignore[method-assign]
    return True
