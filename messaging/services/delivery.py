"""Delivery: claim requests, walk their engines in priority order, record every attempt.

This is the only place that knows about failover. Adapters (``providers``) send one message to one
provider and say what happened; here we decide what happens next.

Claimed requests are handed to a ``Dispatcher``: every request is tried at its best engine, all of them
concurrently; as each call returns its result is written and, on a retryable failure, the request's
next engine is tried at once. A request that runs out of engines is scheduled for another round
(exponential backoff with jitter) or, past the round or age limit, ends ``FAILED`` (``outcomes``).
"""

from __future__ import annotations

import itertools
import logging
import queue
import time
import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from common import metrics
from common.conf import gateway_settings
from common.sealing import unseal
from messaging import breaker, events
from messaging.models import Attempt, Engine, TemplatesEngine, VerifyRequests
from messaging.rowwrites import build, db_value, fetch_models, insert_many, update_each
from messaging.services import accounts
from messaging.services.outcomes import Ending, Plan, end_round, finish, finish_many, release
from messaging.services.routes import engine_adapter, routes_by_template
from messaging.services.routing import plans_route, route_channel
from messaging.services.scores import Outcomes, scores_record
from messaging.transport import NOT_STARTED, Inbox, SendJob, submit_many
from providers.base import CALL, SMS, Message, Outcome, SendResult
from providers.exceptions import ProviderConfigurationError

logger = logging.getLogger(__name__)
Flag = VerifyRequests.Flag


def requests_claim(*, request_ids: Iterable[int], now: datetime | None = None) -> list[VerifyRequests]:
    """Take due waiting requests for this worker (compare-and-set on the flag); return those won."""
    now = now or timezone.now()
    lease = timedelta(seconds=gateway_settings()["LEASE_SECONDS"])
    claimed: list[VerifyRequests] = []
    for request_id in request_ids:
        token = uuid.uuid4()
        won = VerifyRequests.objects.filter(id=request_id, flag=Flag.PENDING, next_attempt_at__lte=now).update(
            flag=Flag.SENDING, lease_token=token, lease_expires_at=now + lease, updated_at=now
        )
        if won:
            claimed.append(VerifyRequests.objects.select_related("template").get(id=request_id))
    return claimed


def requests_claim_due(*, limit: int, now: datetime | None = None) -> list[VerifyRequests]:
    """Claim up to ``limit`` due waiting requests, oldest first, skipping rows other workers are claiming.

    One statement, so one round trip and no explicit transaction: the pump calls this many times a second.
    """
    now = now or timezone.now()
    lease = timedelta(seconds=gateway_settings()["LEASE_SECONDS"])
    meta = VerifyRequests._meta
    quote = connection.ops.quote_name
    table = quote(meta.db_table)
    # SKIP LOCKED on PostgreSQL; SQLite has one writer at a time, which serialises claims anyway.
    lock = " FOR UPDATE SKIP LOCKED" if connection.features.has_select_for_update_skip_locked else ""
    columns = ", ".join(quote(field.column) for field in meta.concrete_fields)
    sql = (
        f"UPDATE {table} SET flag = %s, lease_token = %s, lease_expires_at = %s, updated_at = %s "  # noqa: S608
        f"WHERE id IN (SELECT id FROM {table} WHERE flag = %s AND next_attempt_at <= %s "
        f"ORDER BY next_attempt_at LIMIT %s{lock}) RETURNING {columns}"
    )
    params = [
        Flag.SENDING,
        db_value(VerifyRequests, "lease_token", uuid.uuid4()),
        db_value(VerifyRequests, "lease_expires_at", now + lease),
        db_value(VerifyRequests, "updated_at", now),
        Flag.PENDING,
        db_value(VerifyRequests, "next_attempt_at", now),
        limit,
    ]
    return fetch_models(VerifyRequests, sql, params)


def requests_deliver(*, request_ids: Sequence[int]) -> None:
    """Claim and deliver the given requests. Safe to call any number of times for the same ids."""
    claimed = requests_claim(request_ids=request_ids)
    if claimed:
        dispatcher = Dispatcher()
        dispatcher.start(claimed)
        dispatcher.run_until_idle()


def _job(plan: Plan, route: TemplatesEngine) -> SendJob:
    engine = route.engine
    adapter = engine_adapter(engine)
    params = {route.token_keys.get(name, name): value for name, value in plan.tokens.items()}
    message = Message(
        phone=plan.request.phone, template_code=route.template_code, params=params, channel=route_channel(plan, route)
    )
    return SendJob(
        adapter=adapter,
        message=message,
        engine_id=engine.id,
        max_in_flight=engine.max_in_flight,
        # No call may outlive the lease, whatever holds the pump up (no hard time limit in the solo pool).
        start_by=plan.lease_ends - adapter.max_call_seconds,
    )


class Dispatcher:
    """Moves claimed requests through their engines; provider calls run concurrently on the event loop.

    Each request advances on its own: when its call returns, the result is written and, if it failed
    in a way another provider may not, the next engine is tried at once. ``poll`` does the writing, in
    batches, on the calling thread (Django's ORM is synchronous); only the HTTP calls are asynchronous.
    """

    def __init__(self) -> None:
        self._in_flight: dict[int, tuple[Plan, TemplatesEngine, Attempt]] = {}
        self._keys = itertools.count()
        # Finished calls, in the order they finished: polling never scans the calls still in flight.
        self._done: Inbox = queue.SimpleQueue()

    @property
    def in_flight(self) -> int:
        return len(self._in_flight)

    def start(self, claimed: list[VerifyRequests]) -> None:
        now, clock = timezone.now(), time.monotonic()
        routes = routes_by_template({request.template_id for request in claimed})
        plans: list[Plan] = []
        for request in claimed:
            if request.send_before and now >= request.send_before:
                finish(request, flag=Flag.FAILED, error="expired before it could be sent")
                continue
            assert request.lease_expires_at is not None  # a claimed request holds a lease
            lease_ends = clock + (request.lease_expires_at - now).total_seconds()
            tokens = unseal(request.token_value)
            plans.append(Plan(request, tokens, list(routes.get(request.template_id, [])), lease_ends))
        plans_route(plans)
        self._advance(plans)

    def poll(self, timeout: float | None, *, gather: bool = False) -> int:
        """Write the results of every call that has finished, waiting up to ``timeout`` for the first one
        (with ``gather``, for every call in flight, until ``timeout``).

        Return how many were written. All of them are written together, so a busy pump makes a few
        round trips per batch of results, not per result.
        """
        if not self._in_flight:
            return 0
        deadline = None if timeout is None else time.monotonic() + timeout
        try:
            done = [self._done.get(timeout=timeout)]
        except queue.Empty:
            return 0
        while gather and deadline is not None and len(done) < len(self._in_flight):
            try:
                done.append(self._done.get(timeout=max(0.0, deadline - time.monotonic())))
            except queue.Empty:
                break
        while True:
            try:
                done.append(self._done.get_nowait())
            except queue.Empty:
                break
        retry: list[Plan] = []
        released: list[Plan] = []
        attempts: list[Attempt] = []
        endings: list[Ending] = []
        health: dict[int, list[bool]] = {}
        account_news: list[tuple[Engine, SendResult]] = []
        learned = Outcomes()
        for key, outcome in done:
            plan, route, attempt = self._in_flight.pop(key)
            result = _result_of(outcome)
            if result.error_code == NOT_STARTED:
                attempt.outcome, attempt.error_message = Attempt.Outcome.SKIPPED, "not started: the lease was ending"
                attempts.append(attempt)
                released.append(plan)
                metrics.count_attempt(route.engine.name, attempt.outcome, "", None)
                continue
            plan.tries += 1
            _apply_result(attempt, result)
            attempts.append(attempt)
            metrics.count_attempt(route.engine.name, attempt.outcome, attempt.error_code, attempt.latency_ms)
            if result.channel_refused and attempt.channel == CALL:
                # The provider cannot read this code out: the same engine sends it by SMS next.
                plan.channel, plan.reason = SMS, "call refused by the provider, SMS instead"
                plan.routes.insert(0, route)
                retry.append(plan)
                continue
            health.setdefault(route.engine_id, []).append(result.outcome is not Outcome.TRY_NEXT)
            if result.outcome is Outcome.TRY_NEXT:  # the adaptive policy counts a refusal at once (``scores``)
                learned.refused(route.engine_id, plan.request.operator)
            if result.problem is not None or (
                result.outcome is Outcome.SENT and (route.engine.out_of_credit or route.engine.config_error_code)
            ):
                account_news.append((route.engine, result))
            if result.outcome is Outcome.SENT:
                endings.append(Ending(plan.request, Flag.DONE, plan.tries, route.engine_id, result.message_id))
            elif result.outcome is Outcome.RECIPIENT_REJECTED:
                endings.append(Ending(plan.request, Flag.FAILED, plan.tries, error=_describe(route, result)))
            else:
                plan.errors.append(_describe(route, result))
                if plan.routes:
                    events.failover(plan.request, route.engine, result)
                retry.append(plan)
        # One transaction: a worker that dies between the two writes must not leave an attempt marked
        # "sent" on a request still in flight, or the sweeper would send it again without a trace.
        with transaction.atomic():
            update_each(Attempt, [(_attempt_result(attempt), {"id": attempt.id}) for attempt in attempts])
            finish_many(endings)
        release(released)
        _record_health(health)
        accounts.accounts_record(account_news)
        scores_record(learned)
        self._advance(retry)
        return len(done)

    def run_until_idle(self) -> None:
        while self._in_flight:
            self.poll(timeout=None)

    def _advance(self, plans: list[Plan]) -> None:
        """Start each plan's next call, or end its round when no engine is left."""
        started: list[tuple[Plan, TemplatesEngine, Attempt]] = []
        skipped: list[Attempt] = []
        exhausted: list[Plan] = []
        gate = _Gate()
        now = timezone.now()
        for plan in plans:
            route = _next_open_route(plan, skipped, gate, now)
            if route is None:
                exhausted.append(plan)
            else:
                started.append((plan, route, _attempt(plan, route, Attempt.Outcome.IN_FLIGHT, now)))
        # The attempt rows exist before the calls do, so a crash mid-call leaves a trace to reclaim.
        insert_many(skipped + [attempt for _, _, attempt in started])
        keyed = []
        for entry in started:
            key = next(self._keys)
            self._in_flight[key] = entry
            keyed.append((key, entry))
        _submit_all(keyed, self._done)
        for plan in exhausted:
            end_round(plan)


def _submit_all(started: list[tuple[int, tuple[Plan, TemplatesEngine, Attempt]]], inbox: Inbox) -> None:
    """Start every call; an engine whose configuration is unusable fails its attempt without a call."""
    jobs: list[tuple[int, SendJob]] = []
    for key, (plan, route, _) in started:
        try:
            jobs.append((key, _job(plan, route)))
        except ProviderConfigurationError as exc:
            accounts.configuration_error(engine=route.engine, code="config_error", message=str(exc))
            inbox.put((key, SendResult(Outcome.TRY_NEXT, error_code="config_error", error_message=str(exc)[:200])))
    submit_many(jobs, inbox)


def _result_of(outcome: SendResult | BaseException) -> SendResult:
    if isinstance(outcome, BaseException):  # adapters never raise for vendor failures; anything else is our bug
        logger.error("provider call crashed", exc_info=outcome)
        return SendResult(Outcome.TRY_NEXT, error_code="internal_error", error_message=type(outcome).__name__)
    return outcome


class _Gate:
    """Breaker decisions for one batch: a closed breaker is asked once, a half-open one lets one probe by."""

    def __init__(self) -> None:
        self._closed: set[int] = set()

    def allows(self, engine_id: int) -> bool:
        if engine_id in self._closed:
            return True
        state = breaker.breaker_check(engine_id)
        if state == breaker.CLOSED:
            self._closed.add(engine_id)
        return state != breaker.OPEN


def _record_health(health: dict[int, list[bool]]) -> None:
    """Tell the breakers what happened: one call per engine when all went well, each result otherwise."""
    for engine_id, results in health.items():
        for healthy in [True] if all(results) else results:
            breaker.breaker_record(engine_id, healthy=healthy)


def _next_open_route(plan: Plan, skipped: list[Attempt], gate: _Gate, now: datetime) -> TemplatesEngine | None:
    while (route := plan.next_route()) is not None:
        # Known to have no credit: a call would only be refused (and cost the provider's rate limit).
        reason = "out of credit" if route.engine.out_of_credit else None
        if reason is None and gate.allows(route.engine_id):
            return route
        reason = reason or "breaker open"
        attempt = _attempt(plan, route, Attempt.Outcome.SKIPPED, now)
        attempt.error_message = f"skipped: {reason}"
        skipped.append(attempt)
        metrics.count_attempt(route.engine.name, Attempt.Outcome.SKIPPED, reason.replace(" ", "_"), None)
        plan.errors.append(f"{route.engine.name}: {reason}")
    return None


def _attempt(plan: Plan, route: TemplatesEngine, outcome: str, now: datetime) -> Attempt:
    return build(
        Attempt,
        {
            "id": None,
            "request_id": plan.request.id,
            "engine_id": route.engine_id,
            "round": plan.request.rounds + 1,
            "outcome": outcome,
            "error_code": "",
            "error_message": "",
            "http_status": None,
            "latency_ms": None,
            "channel": route_channel(plan, route),
            "reason": plan.take_reason(),
            "created_at": now,
        },
    )


def _attempt_result(attempt: Attempt) -> dict[str, Any]:
    return {
        "outcome": attempt.outcome,
        "error_code": attempt.error_code,
        "error_message": attempt.error_message,
        "http_status": attempt.http_status,
        "latency_ms": attempt.latency_ms,
    }


def _apply_result(attempt: Attempt, result: SendResult) -> None:
    if result.outcome is Outcome.SENT:
        attempt.outcome = Attempt.Outcome.SENT
    elif result.outcome is Outcome.RECIPIENT_REJECTED:
        attempt.outcome = Attempt.Outcome.REJECTED
    else:
        attempt.outcome = Attempt.Outcome.TIMEOUT if result.timed_out else Attempt.Outcome.FAILED
    attempt.error_code = result.error_code[:32]
    attempt.error_message = result.error_message[:255]
    attempt.http_status = result.http_status
    attempt.latency_ms = result.latency_ms


def _describe(route: TemplatesEngine, result: SendResult) -> str:
    return f"{route.engine.name}: {result.error_code or result.outcome.value} {result.error_message}".strip()[:255]
