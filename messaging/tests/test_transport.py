"""The shared event loop: each engine's cap on calls in flight, and a cap edited while the process runs."""

from __future__ import annotations

import asyncio
import queue
from typing import Any, cast

from messaging.transport import Inbox, SendJob, submit_many
from providers.base import Message, Outcome, ProviderAdapter, SendResult


class _CountingAdapter:
    """Stands in for a provider adapter (no HTTP here): counts the calls running at once, each held a moment."""

    max_call_seconds = 5.0

    def __init__(self) -> None:
        self.running = 0
        self.most = 0

    async def send(self, session: Any, message: Message) -> SendResult:
        self.running += 1
        self.most = max(self.most, self.running)
        await asyncio.sleep(0.02)
        self.running -= 1
        return SendResult(Outcome.SENT, message_id=message.phone)


def _send_all(adapter: _CountingAdapter, *, engine_id: int, cap: int, count: int) -> list[tuple[int, Any]]:
    inbox: Inbox = queue.SimpleQueue()
    message = Message(phone="+989120000000", template_code="1", params={})
    job = SendJob(adapter=cast(ProviderAdapter, adapter), message=message, engine_id=engine_id, max_in_flight=cap)
    jobs = [(key, job) for key in range(count)]
    submit_many(jobs, inbox)
    return [inbox.get(timeout=10) for _ in range(count)]


def test_an_engine_never_has_more_calls_in_flight_than_its_cap():
    adapter = _CountingAdapter()

    results = _send_all(adapter, engine_id=9001, cap=3, count=12)

    assert sorted(key for key, _ in results) == list(range(12))
    assert all(result.outcome is Outcome.SENT for _, result in results)
    assert adapter.most == 3


def test_a_cap_edited_while_the_worker_runs_applies_to_the_next_calls():
    before, after = _CountingAdapter(), _CountingAdapter()

    _send_all(before, engine_id=9002, cap=2, count=8)
    _send_all(after, engine_id=9002, cap=5, count=15)

    assert before.most == 2
    assert after.most == 5
