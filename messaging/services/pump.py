"""The fast path: a pump claims due requests in batches and keeps many provider calls in flight.

One Celery message per SMS caps a worker at a couple of hundred sends a second, whatever the pool.
So new requests are not published one by one: while a pump runs, it finds them itself within
``PUMP_POLL_SECONDS``; when none runs, the first request to notice publishes one ``deliver_due`` task
(at most one a second) to start it. A pump runs until it has been idle for ``PUMP_IDLE_EXIT_SECONDS``
or its budget is spent, then hands over to a fresh task, so no task outlives its time limit.

Handing over without losing a request: a pump clears its "alive" mark *before* its last look for due
rows. A request committed before that look is claimed by it; one committed after sees no mark and
wakes a new pump.
"""

from __future__ import annotations

import logging
import time

from django.core.cache import cache

from common.conf import gateway_settings
from common.memo import Memo
from messaging.publishing import publish_wakeup
from messaging.services.delivery import Dispatcher, requests_claim_due

logger = logging.getLogger(__name__)

ALIVE_KEY = "sms:pump:alive"
WAKE_KEY = "sms:pump:wake"
_ALIVE_SECONDS = 3
_REFRESH_SECONDS = 1.0


# A request that saw the mark within this many seconds trusts it without asking the cache again. A pump
# going idle clears its mark and waits this long (plus a margin) before its last look, so a request that
# trusted a stale mark was committed before that look and is claimed by it.
ALIVE_MEMO_SECONDS = 0.25
_alive: Memo[None, bool] = Memo(ALIVE_MEMO_SECONDS)


def pump_is_running() -> bool:
    if _alive.get(None):
        return True
    asked_at = time.monotonic()  # before the read: the mark may be cleared right after it
    running = cache.get(ALIVE_KEY) is not None
    if running:
        _alive.put(None, True, seen_at=asked_at)
    return running


def pump_wake(*, even_if_running: bool = False) -> None:
    """Start a pump unless one runs or was started within the last second. Never raises."""
    try:
        if (even_if_running or not pump_is_running()) and cache.add(WAKE_KEY, 1, timeout=1):
            publish_wakeup()
    except Exception as exc:  # cache down: the sweeper publishes what is due
        logger.warning("could not wake a pump: %s", type(exc).__name__)


def requests_pump(*, budget_seconds: float | None = None) -> int:
    """Deliver due requests until idle or out of budget; return how many were claimed.

    The loop claims at most every ``PUMP_POLL_SECONDS`` (at once again while a backlog fills whole
    batches) and in between writes finished calls in batches: a pump's database work grows with the
    number of batches, not of messages, so a trickle of requests costs little CPU.
    """
    config = gateway_settings()
    budget = config["PUMP_BUDGET_SECONDS"] if budget_seconds is None else budget_seconds
    batch, poll = int(config["PUMP_BATCH"]), float(config["PUMP_POLL_SECONDS"])
    idle_exit, max_in_flight = float(config["PUMP_IDLE_EXIT_SECONDS"]), int(config["PUMP_MAX_IN_FLIGHT"])
    # Claiming into a nearly full pump would make many tiny batches: wait for a quarter of a batch of room.
    min_room = max(1, min(batch, max_in_flight) // 4)
    dispatcher = Dispatcher()
    started = last_work = next_claim = time.monotonic()
    refreshed = 0.0
    claimed_total = 0
    out_of_budget = False
    while True:
        now = time.monotonic()
        if now - refreshed >= _REFRESH_SECONDS:
            _mark(alive=True)
            refreshed = now
        room = max_in_flight - dispatcher.in_flight
        if now >= next_claim and room >= min_room:
            limit = min(batch, room)
            claimed = requests_claim_due(limit=limit)
            # A full batch means more is waiting: claim again as soon as there is room.
            next_claim = now if len(claimed) == limit else now + poll
            if claimed:
                dispatcher.start(claimed)
                claimed_total += len(claimed)
                last_work = now
                if len(claimed) == batch:
                    # A backlog: let another worker process help (at most one more a second).
                    pump_wake(even_if_running=True)
        if dispatcher.in_flight:
            if room < min_room:  # no room to claim into: write as soon as something finishes
                dispatcher.poll(timeout=poll)
            elif next_claim <= now:  # a backlog: write what has finished and claim again
                dispatcher.poll(timeout=0)
            else:  # between claims: gather results until the next claim and write them together
                dispatcher.poll(timeout=max(0.0, next_claim - time.monotonic()), gather=True)
            if dispatcher.in_flight:
                last_work = time.monotonic()
        elif next_claim > now:
            time.sleep(max(0.0, next_claim - time.monotonic()))
        if now - started >= budget:
            out_of_budget = True
            break
        if not dispatcher.in_flight and now - last_work >= idle_exit:
            _mark(alive=False)
            time.sleep(ALIVE_MEMO_SECONDS + 0.05)
            last_look = requests_claim_due(limit=batch)
            if not last_look:
                break
            dispatcher.start(last_look)
            claimed_total += len(last_look)
            last_work, refreshed = time.monotonic(), 0.0
    dispatcher.run_until_idle()
    _mark(alive=False)
    if out_of_budget:
        publish_wakeup()
    return claimed_total


def _mark(*, alive: bool) -> None:
    """Set or clear the "alive" mark. A cache outage must not stop a pump that holds claimed requests:
    without the mark, the API wakes more pumps than needed, which is harmless."""
    try:
        if alive:
            cache.set(ALIVE_KEY, 1, timeout=_ALIVE_SECONDS)
        else:
            cache.delete(ALIVE_KEY)
    except Exception as exc:
        logger.warning("pump mark unavailable: %s", type(exc).__name__)
