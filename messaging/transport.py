"""One asyncio loop and one HTTP connection pool per worker process, shared by every task.

Tasks are synchronous (Django's ORM is), but provider calls are many and slow, so they run
concurrently on a background event loop. Keeping the loop and its aiohttp session for the life of
the process keeps connections to providers open between tasks.
"""

from __future__ import annotations

import asyncio
import atexit
import os
import queue
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import aiohttp

from providers.base import Message, Outcome, ProviderAdapter, SendResult
from providers.reporting import CreditResult, StatusResult

# The error code of a call refused because it could not end before the claim's lease does.
NOT_STARTED = "not_started"

# What a finished call leaves for the thread that started it: its key and its result (or the exception).
Inbox = queue.SimpleQueue[tuple[int, Any]]


class Job(Protocol):
    """One provider call: sends, status and credit calls share an engine's cap and the lease rule."""

    @property
    def engine_id(self) -> int: ...
    @property
    def max_in_flight(self) -> int: ...
    @property
    def start_by(self) -> float: ...
    async def call(self, session: aiohttp.ClientSession) -> Any: ...
    def not_started(self) -> Any: ...


@dataclass(frozen=True)
class SendJob:
    adapter: ProviderAdapter
    message: Message
    engine_id: int
    max_in_flight: int
    # The last moment (time.monotonic) the call may begin and still end, at its adapter's total timeout,
    # before the claim's lease runs out; a call waiting for its engine's cap may reach it.
    start_by: float = float("inf")

    async def call(self, session: aiohttp.ClientSession) -> SendResult:
        return await self.adapter.send(session, self.message)

    def not_started(self) -> SendResult:
        # Past this point another worker may take the request back and send it too: leave it alone.
        return SendResult(Outcome.TRY_NEXT, error_code=NOT_STARTED, error_message="lease ending")


@dataclass(frozen=True)
class StatusJob:
    adapter: ProviderAdapter
    message_ids: tuple[str, ...]
    engine_id: int
    max_in_flight: int
    start_by: float = float("inf")

    async def call(self, session: aiohttp.ClientSession) -> StatusResult:
        return await self.adapter.fetch_status(session, self.message_ids)

    def not_started(self) -> StatusResult:
        return StatusResult(error_code=NOT_STARTED, error_message="out of time before the call")


@dataclass(frozen=True)
class CreditJob:
    adapter: ProviderAdapter
    engine_id: int
    max_in_flight: int
    start_by: float = float("inf")

    async def call(self, session: aiohttp.ClientSession) -> CreditResult:
        return await self.adapter.fetch_credit(session)

    def not_started(self) -> CreditResult:
        return CreditResult(error_code=NOT_STARTED, error_message="out of time before the call")


class _Loop:
    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.session: aiohttp.ClientSession | None = None
        # Keyed by engine and cap: an engine whose cap is edited gets a fresh semaphore at its next call,
        # while calls already holding the old one finish under it.
        self.limits: dict[tuple[int, int], asyncio.Semaphore] = {}
        threading.Thread(target=self.loop.run_forever, name="provider-io", daemon=True).start()

    async def _session(self) -> aiohttp.ClientSession:
        if self.session is None or self.session.closed:
            connector = aiohttp.TCPConnector(limit=0, ttl_dns_cache=300, keepalive_timeout=30)
            self.session = aiohttp.ClientSession(connector=connector, raise_for_status=False)
        return self.session

    async def _one(self, session: aiohttp.ClientSession, job: Job) -> Any:
        # Per-engine cap, so a burst never exceeds what a provider's rate limit allows from us.
        key = (job.engine_id, job.max_in_flight)
        limit = self.limits.get(key)
        if limit is None:
            limit = self.limits[key] = asyncio.Semaphore(max(1, job.max_in_flight))
        async with limit:
            if time.monotonic() > job.start_by:
                return job.not_started()
            return await job.call(session)

    async def close(self) -> None:
        if self.session is not None:
            await self.session.close()

    async def send(self, job: Job) -> Any:
        return await self._one(await self._session(), job)

    def start(self, jobs: list[tuple[int, Job]], inbox: Inbox) -> None:
        # On the loop: one task per job, each putting its key and result in the caller's inbox.
        for key, job in jobs:
            self.loop.create_task(self._send_into(inbox, key, job))

    async def _send_into(self, inbox: Inbox, key: int, job: Job) -> None:
        try:
            result: Any = await self.send(job)
        except asyncio.CancelledError as exc:  # the loop is shutting down: the caller still hears of it
            inbox.put((key, exc))
            raise
        except Exception as exc:  # adapters never raise for vendor failures: this is a bug, the caller logs it
            result = exc
        inbox.put((key, result))


_state: tuple[int, _Loop] | None = None
_lock = threading.Lock()


def _loop() -> _Loop:
    global _state
    with _lock:
        # A forked pool child inherits the parent's object but not its thread: start its own.
        if _state is None or _state[0] != os.getpid():
            _state = (os.getpid(), _Loop())
            atexit.register(_close, _state[1])
        return _state[1]


def submit_many(jobs: Sequence[tuple[int, Job]], inbox: Inbox) -> None:
    """Start sending every job; as each finishes, ``(key, result)`` is put in ``inbox`` (the exception
    instead of a result if the call crashed).

    One wake-up of the loop for the whole batch, and no future per job: ``run_coroutine_threadsafe`` per
    job costs a write to the loop's self-pipe and a chained future each, and a ``concurrent.futures``
    future alone (its condition variable, its callback) was ~8 % of a pump's CPU at 0 ms providers.
    """
    if not jobs:  # a dispatcher advances after every poll, mostly with nothing to retry: no wake-up then
        return
    runner = _loop()
    runner.loop.call_soon_threadsafe(runner.start, list(jobs), inbox)


def call_all(jobs: Sequence[Job], *, timeout: float) -> list[Any]:
    """Run ``jobs`` concurrently (each engine's cap holds) and return their results in order: the result,
    the exception a call crashed with, or None for a call still running after ``timeout`` seconds."""
    inbox: Inbox = queue.SimpleQueue()
    submit_many(list(enumerate(jobs)), inbox)
    results: list[Any] = [None] * len(jobs)
    deadline = time.monotonic() + timeout
    for _ in jobs:
        try:
            key, result = inbox.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            break
        results[key] = result
    return results


def _close(runner: _Loop) -> None:
    # Closing the pool politely at exit keeps aiohttp from complaining while the interpreter shuts down.
    if os.getpid() == (_state[0] if _state else None):
        asyncio.run_coroutine_threadsafe(runner.close(), runner.loop).result(timeout=5)
