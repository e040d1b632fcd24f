"""Writing what a delivery came to: DONE (and the first delivery-report look), FAILED, or another round.

Only the holder of a request's lease writes its outcome: a request the sweeper took back is someone else's.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from common import metrics
from common.conf import gateway_settings
from messaging import events
from messaging.models import Attempt, TemplatesEngine, VerifyRequests
from messaging.publishing import publish_requests
from messaging.rowwrites import update_each

Flag = VerifyRequests.Flag


@dataclass
class Plan:
    """One claimed request and the engines it may still try, best first."""

    request: VerifyRequests
    tokens: dict[str, str]
    routes: list[TemplatesEngine]
    lease_ends: float  # time.monotonic() when the claim's lease runs out
    tries: int = 0
    errors: list[str] = field(default_factory=list)
    reason: str = "priority: priority order"  # why the next route is tried (messaging.services.routing)
    channel: str = VerifyRequests.Channel.SMS  # a call falls back to SMS where the provider refuses it

    def __post_init__(self) -> None:
        self.channel = self.request.channel

    def next_route(self) -> TemplatesEngine | None:
        return self.routes.pop(0) if self.routes else None

    def take_reason(self) -> str:
        reason, self.reason = self.reason, "failover"
        return reason


@dataclass
class Ending:
    request: VerifyRequests
    flag: str
    tries: int = 0
    engine_id: int | None = None
    message_id: str = ""
    error: str = ""


def finish(request: VerifyRequests, *, flag: str, tries: int = 0, error: str = "") -> None:
    finish_many([Ending(request, flag, tries, error=error)])


def finish_many(endings: list[Ending]) -> None:
    """Write final outcomes. Only the lease holder may finish: a request the sweeper took back is someone else's."""
    if not endings:
        return
    now = timezone.now()
    delivered = [ending for ending in endings if ending.flag == Flag.DONE]
    # Accepted by a provider: its delivery report is looked for a little later (messaging.services.reports).
    first_look = now + timedelta(seconds=gateway_settings()["REPORTS_FIRST_POLL_SECONDS"])
    # The common case, in one round trip; nothing else needs to know which rows matched.
    update_each(
        VerifyRequests,
        [
            (
                {
                    "flag": Flag.DONE,
                    "tries": ending.request.tries + ending.tries,  # we hold the lease: nobody else changed it
                    "rounds": ending.request.rounds + 1,
                    "system_id": ending.engine_id,
                    "provider_message_id": ending.message_id[:64],
                    "last_error": "",
                    "lease_token": None,
                    "lease_expires_at": None,
                    "completed_at": now,
                    "updated_at": now,
                    "delivery_state": VerifyRequests.Delivery.PENDING,
                    "report_next_at": first_look,
                },
                {"id": ending.request.id, "flag": Flag.SENDING, "lease_token": ending.request.lease_token},
            )
            for ending in delivered
        ],
    )
    metrics.count_ended(Flag.DONE, len(delivered))
    for ending in endings:
        if ending.flag != Flag.DONE:
            _fail(ending, now)


def _fail(ending: Ending, now: datetime) -> None:
    request = ending.request
    updated = VerifyRequests.objects.filter(id=request.id, flag=Flag.SENDING, lease_token=request.lease_token).update(
        flag=Flag.FAILED,
        tries=F("tries") + ending.tries,
        rounds=F("rounds") + 1,
        last_error=ending.error[:255],
        lease_token=None,
        lease_expires_at=None,
        completed_at=now,
        updated_at=now,
    )
    if updated:
        metrics.count_ended(Flag.FAILED)
        events.request_failed(request, ending.error)


def end_round(plan: Plan) -> None:
    request = plan.request
    gateway = gateway_settings()
    now = timezone.now()
    rounds = request.rounds + 1
    error = "; ".join(plan.errors)[-255:] or "no enabled engine has a mapping for this template"
    age = (now - request.queued_at).total_seconds()
    delay = _backoff(rounds)
    out_of_time = age + delay >= gateway["MAX_AGE_SECONDS"] or (
        request.send_before is not None and now + timedelta(seconds=delay) >= request.send_before
    )
    if rounds >= gateway["MAX_ROUNDS"] or out_of_time or not plan.errors:
        finish(request, flag=Flag.FAILED, tries=plan.tries, error=error)
        return
    _requeue(plan, now, delay, rounds=rounds, last_error=error)


def release(plans: list[Plan]) -> None:
    """Give back requests whose lease ran short before their next call: due again at once, this round
    not counted, so a fresh claim (with a fresh lease) sends them."""
    now = timezone.now()
    for plan in plans:
        _requeue(plan, now, 0.0)


def _requeue(plan: Plan, now: datetime, delay: float, **fields: Any) -> None:
    """Put a request we hold back to ``PENDING``, due after ``delay``, and publish it (lease holder only)."""
    request = plan.request
    with transaction.atomic():
        updated = VerifyRequests.objects.filter(
            id=request.id, flag=Flag.SENDING, lease_token=request.lease_token
        ).update(
            flag=Flag.PENDING,
            tries=F("tries") + plan.tries,
            next_attempt_at=now + timedelta(seconds=delay),
            lease_token=None,
            lease_expires_at=None,
            updated_at=now,
            **fields,
        )
        if updated:
            publish_requests([request.id], countdown=delay)


def _backoff(rounds: int) -> float:
    """Exponential backoff with jitter, so that a provider coming back is not hit by a thundering herd."""
    gateway = gateway_settings()
    base = gateway["BACKOFF_BASE_SECONDS"] * (2 ** (rounds - 1))
    return float(min(gateway["BACKOFF_MAX_SECONDS"], base * random.uniform(0.5, 1.5)))


def requests_reclaim_expired(*, now: datetime | None = None) -> int:
    """Give back requests whose worker died mid-send; their unfinished attempts count as timeouts."""
    now = now or timezone.now()
    with transaction.atomic():
        stale = list(
            VerifyRequests.objects.filter(flag=Flag.SENDING, lease_expires_at__lt=now).values_list("id", flat=True)
        )
        if not stale:
            return 0
        # The provider may have accepted the lost call: recorded as a timeout, the duplicate risk is visible.
        Attempt.objects.filter(request_id__in=stale, outcome=Attempt.Outcome.IN_FLIGHT).update(
            outcome=Attempt.Outcome.TIMEOUT, error_code="worker_lost", error_message="worker lost during the call"
        )
        return VerifyRequests.objects.filter(Q(id__in=stale), flag=Flag.SENDING, lease_expires_at__lt=now).update(
            flag=Flag.PENDING, lease_token=None, lease_expires_at=None, next_attempt_at=now, updated_at=now
        )
