"""Per-process memos: a few seconds of staleness in exchange for a round trip saved on every request.

Used for data that every request reads and operators change rarely (templates, API clients, limit
policies). Each memo says in its own module how stale it may be and why that is acceptable; a save in
the admin clears the memos of the process that saved (signals), other processes catch up on expiry.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import ClassVar, Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")

# The memos' clock; tests swap it to step past an expiry without sleeping.
clock: Callable[[], float] = time.monotonic


class Memo(Generic[K, V]):
    _every: ClassVar[list[Memo[object, object]]] = []

    def __init__(self, seconds: float | Callable[[], float]) -> None:
        # A callable is asked on every read, so a setting (and a test overriding it) applies at once.
        self._seconds = seconds
        self._entries: dict[K, tuple[float, V]] = {}
        Memo._every.append(self)  # type: ignore[arg-type]

    def get(self, key: K) -> V | None:
        entry = self._entries.get(key)
        if entry is None or clock() - entry[0] >= self.seconds:
            return None
        return entry[1]

    @property
    def seconds(self) -> float:
        return self._seconds() if callable(self._seconds) else self._seconds

    def put(self, key: K, value: V, *, seen_at: float | None = None) -> V:
        """Keep ``value``; it expires ``seconds`` after ``seen_at`` (a ``clock()`` reading, default now)."""
        if len(self._entries) > 10_000:  # keys come from clients' input: never let them grow without bound
            self._entries.clear()
        self._entries[key] = (clock() if seen_at is None else seen_at, value)
        return value

    def forget(self, key: K) -> None:
        self._entries.pop(key, None)

    def clear(self) -> None:
        self._entries.clear()


def memos_clear() -> None:
    """Forget everything every memo of this process holds (tests, and saves in the admin)."""
    for memo in Memo._every:
        memo.clear()
