"""Publishing request ids to the broker, after the row is committed (the outbox pattern).

The row is the source of truth; a message is only a hint to look at it now. If publishing fails
(broker down), the request stays ``PENDING`` and the periodic sweeper publishes it again, so the
API answers at once and nothing accepted is lost.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from celery import current_app
from django.db import transaction

logger = logging.getLogger(__name__)

DELIVER_TASK = "messaging.deliver_request"
PUMP_TASK = "messaging.deliver_due"


def publish_now(request_ids: Sequence[int], *, countdown: float = 0) -> int:
    """Publish one delivery task per id; return how many were published. Never raises."""
    published = 0
    try:
        with current_app.producer_or_acquire() as producer:
            for request_id in request_ids:
                current_app.send_task(
                    DELIVER_TASK,
                    args=[request_id],
                    countdown=countdown or None,
                    producer=producer,
                    retry=False,
                )
                published += 1
    except Exception as exc:  # any broker failure: the sweeper is the safety net
        logger.warning(
            "broker unavailable, %s of %s publishes deferred to the sweeper: %s: %s",
            len(request_ids) - published,
            len(request_ids),
            type(exc).__name__,
            exc,
        )
    return published


def publish_requests(request_ids: Sequence[int], *, countdown: float = 0) -> None:
    """Publish once the current transaction commits (at once when none is open)."""
    ids = list(request_ids)
    transaction.on_commit(lambda: publish_now(ids, countdown=countdown))


def publish_wakeup() -> bool:
    """Publish one ``deliver_due`` task (it takes no arguments). Never raises."""
    try:
        current_app.send_task(PUMP_TASK, retry=False)
    except Exception as exc:  # the sweeper covers a lost wake-up
        logger.warning("broker unavailable, pump wake-up deferred to the sweeper: %s", type(exc).__name__)
        return False
    return True
