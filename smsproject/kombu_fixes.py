"""A fix for kombu's Redis transport that ends a worker when Redis goes away mid-task (kombu 5.7.0).

kombu's ``Channel.close`` first reads the reply of a pending BRPOP. With Redis gone that read raises,
so the close stops half-way: the channel is not marked closed and still holds the unacknowledged
message. ``Connection.collect()`` then detaches the transport, and Celery 5.7's consumer closes the same
channel a second time; restoring the unacked message now needs a Redis client that cannot be built
(``AttributeError: 'NoneType' object has no attribute 'hostname'``). That is not a connection error, so
the worker logs "Unrecoverable error" and exits, and beat goes on publishing into a queue nobody reads.
With acks_late that happens whenever Redis stops while a task runs: it failed a fault test in CI
(tests/faults/test_redis_faults.py) and a reproduction stopped the worker 7 times in 7.

The fix drops the unreadable reply first, so the first close completes while the transport is still
attached. If a later kombu no longer has the private names it relies on, nothing is patched.
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
