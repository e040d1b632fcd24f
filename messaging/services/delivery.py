"""Delivery: claim requests, walk their engines in priority order, record every attempt.

This is the only place that knows about failover. Adapters (``providers``) send one message to one
provider and say what happened; here we decide what happens next.

Claimed requests are handed to a ``Dispatcher``: every request is tried at its best engine, all of them
concurrently; as each call returns its result is written and, on a retryable failure, the request's
next engine is tried at once. A request that runs out of engines is scheduled for another round
(exponential backoff with jitter) or, past the round or age limit, ends ``FAILED``.
"""

from __future__ import annotations

import functools
import itertools
import logging
import queue
import random
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from common import metrics
from common.conf import gateway_settings
from common.memo import Memo
from common.sealing import unseal
from messaging import breaker, events
from messaging.models import Attempt, Engine, TemplatesEngine, VerifyRequests
from messaging.publishing import publish_requests
from messaging.rowwrites import build, db_value, fetch_models, insert_many, update_each
from messaging.transport import NOT_STARTED, Inbox, SendJob, submit_many
from providers.base import EngineConfig, Message, Outcome, ProviderAdapter, SendResult
from providers.exceptions import ProviderConfigurationError
from providers.registry import get_adapter_class

logger = logging.getLogger(__name__)
Flag = VerifyRequests.Flag


@dataclass
class _Plan:
    """One claimed request and the engines it may still try, best first."""

    request: VerifyRequests
    tokens: dict[str, str]
    routes: list[TemplatesEngine]
    lease_ends: float  # time.monotonic() when the claim's lease runs out
    tries: int = 0
    errors: list[str] = field(default_factory=list)

    def next_route(self) -> TemplatesEngine | None:
        return self.routes.pop(0) if self.routes else None


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


# Every batch needs its templates' routes, and engines change rarely: each process keeps them, tagged
# with the routing version they were read under. Saving an engine, template or mapping sets a new
# version (messaging.signals), so every worker reloads at its next batch; an edit that bypasses
# signals (a queryset update) is seen within ROUTES_MEMO_SECONDS. Cache down: read every time.
ROUTES_MEMO_SECONDS = 2.0
ROUTES_VERSION_KEY = "sms:routes:version"
_routes: Memo[int, tuple[str, list[TemplatesEngine]]] = Memo(ROUTES_MEMO_SECONDS)


def routes_changed() -> None:
    """Make every process read routes afresh. Never raises: a cache outage must not fail an admin save."""
    try:
        cache.set(ROUTES_VERSION_KEY, uuid.uuid4().hex, timeout=None)
    except Exception as exc:
        logger.warning("could not publish a routes change: %s", type(exc).__name__)


def _routes_version() -> str | None:
    try:
        version = cache.get(ROUTES_VERSION_KEY)
        if version is None:  # a cache emptied since: a new version
            cache.add(ROUTES_VERSION_KEY, uuid.uuid4().hex, timeout=None)
            version = cache.get(ROUTES_VERSION_KEY)
    except Exception:
        return None
    return str(version) if version else None


def _routes_by_template(template_ids: set[int]) -> dict[int, list[TemplatesEngine]]:
    """Each template's enabled engines, best first."""
    version = _routes_version()
    routes: dict[int, list[TemplatesEngine]] = {}
    for template_id in template_ids:
        known = _routes.get(template_id)
        if version is not None and known is not None and known[0] == version:
            routes[template_id] = known[1]
    missing = template_ids - set(routes)
    if missing:
        fresh: dict[int, list[TemplatesEngine]] = {template_id: [] for template_id in missing}
        mappings = (
            TemplatesEngine.objects.select_related("engine", "template")
            .filter(template__template_id__in=missing, engine__enabled=True)
            .order_by("engine__priority", "engine_id")
        )
        for mapping in mappings:
            fresh[mapping.template.template_id].append(mapping)
        for template_id, found in fresh.items():
            if version is not None:
                _routes.put(template_id, (version, found))
            routes[template_id] = found
    return routes


@functools.lru_cache(maxsize=64)
def _adapter(kind: str, api_url: str, token: str, connect_timeout: float, read_timeout: float) -> ProviderAdapter:
    """One adapter per engine configuration, reused by every send (adapters hold no per-send state).
    An edited engine has a new configuration, so it gets a new adapter; a bad one raises and is not kept."""
    config = EngineConfig(api_url=api_url, token=token, connect_timeout=connect_timeout, read_timeout=read_timeout)
    return get_adapter_class(kind)(config)


def _job(plan: _Plan, route: TemplatesEngine) -> SendJob:
    engine: Engine = route.engine
    adapter = _adapter(engine.kind, engine.api_url, engine.provider_token, engine.connect_timeout, engine.read_timeout)
    params = {route.token_keys.get(name, name): value for name, value in plan.tokens.items()}
    message = Message(phone=plan.request.phone, template_code=route.template_code, params=params)
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
        self._in_flight: dict[int, tuple[_Plan, TemplatesEngine, Attempt]] = {}
        self._keys = itertools.count()
        # Finished calls, in the order they finished: polling never scans the calls still in flight.
        self._done: Inbox = queue.SimpleQueue()

    @property
    def in_flight(self) -> int:
        return len(self._in_flight)

    def start(self, claimed: list[VerifyRequests]) -> None:
        now, clock = timezone.now(), time.monotonic()
        routes = _routes_by_template({request.template_id for request in claimed})
        plans: list[_Plan] = []
        for request in claimed:
            if request.send_before and now >= request.send_before:
                _finish(request, flag=Flag.FAILED, error="expired before it could be sent")
                continue
            assert request.lease_expires_at is not None  # a claimed request holds a lease
            lease_ends = clock + (request.lease_expires_at - now).total_seconds()
            tokens = unseal(request.token_value)
            plans.append(_Plan(request, tokens, list(routes.get(request.template_id, [])), lease_ends))
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
        retry: list[_Plan] = []
        released: list[_Plan] = []
        attempts: list[Attempt] = []
        endings: list[_Ending] = []
        health: dict[int, list[bool]] = {}
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
            health.setdefault(route.engine_id, []).append(result.outcome is not Outcome.TRY_NEXT)
            if result.outcome is Outcome.SENT:
                endings.append(_Ending(plan.request, Flag.DONE, plan.tries, route.engine_id, result.message_id))
            elif result.outcome is Outcome.RECIPIENT_REJECTED:
                endings.append(_Ending(plan.request, Flag.FAILED, plan.tries, error=_describe(route, result)))
            else:
                plan.errors.append(_describe(route, result))
                if plan.routes:
                    events.failover(plan.request, route.engine, result)
                retry.append(plan)
        # One transaction: a worker that dies between the two writes must not leave an attempt marked
        # "sent" on a request still in flight, or the sweeper would send it again without a trace.
        with transaction.atomic():
            update_each(Attempt, [(_attempt_result(attempt), {"id": attempt.id}) for attempt in attempts])
            _finish_many(endings)
        _release(released)
        _record_health(health)
        self._advance(retry)
        return len(done)

    def run_until_idle(self) -> None:
        while self._in_flight:
            self.poll(timeout=None)

    def _advance(self, plans: list[_Plan]) -> None:
        """Start each plan's next call, or end its round when no engine is left."""
        started: list[tuple[_Plan, TemplatesEngine, Attempt]] = []
        skipped: list[Attempt] = []
        exhausted: list[_Plan] = []
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
            _end_round(plan)


def _submit_all(started: list[tuple[int, tuple[_Plan, TemplatesEngine, Attempt]]], inbox: Inbox) -> None:
    """Start every call; an engine whose configuration is unusable fails its attempt without a call."""
    jobs: list[tuple[int, SendJob]] = []
    for key, (plan, route, _) in started:
        try:
            jobs.append((key, _job(plan, route)))
        except ProviderConfigurationError as exc:
            events.configuration_error(route.engine, str(exc))  # the operator hears about it
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


def _next_open_route(plan: _Plan, skipped: list[Attempt], gate: _Gate, now: datetime) -> TemplatesEngine | None:
    while (route := plan.next_route()) is not None:
        if gate.allows(route.engine_id):
            return route
        attempt = _attempt(plan, route, Attempt.Outcome.SKIPPED, now)
        attempt.error_message = "skipped: breaker open"
        skipped.append(attempt)
        metrics.count_attempt(route.engine.name, Attempt.Outcome.SKIPPED, "breaker_open", None)
        plan.errors.append(f"{route.engine.name}: breaker open")
    return None


def _attempt(plan: _Plan, route: TemplatesEngine, outcome: str, now: datetime) -> Attempt:
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


@dataclass
class _Ending:
    request: VerifyRequests
    flag: str
    tries: int = 0
    engine_id: int | None = None
    message_id: str = ""
    error: str = ""


def _finish(request: VerifyRequests, *, flag: str, tries: int = 0, error: str = "") -> None:
    _finish_many([_Ending(request, flag, tries, error=error)])


def _finish_many(endings: list[_Ending]) -> None:
    """Write final outcomes. Only the lease holder may finish: a request the sweeper took back is someone else's."""
    if not endings:
        return
    now = timezone.now()
    delivered = [ending for ending in endings if ending.flag == Flag.DONE]
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


def _fail(ending: _Ending, now: datetime) -> None:
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


def _end_round(plan: _Plan) -> None:
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
        _finish(request, flag=Flag.FAILED, tries=plan.tries, error=error)
        return
    _requeue(plan, now, delay, rounds=rounds, last_error=error)


def _release(plans: list[_Plan]) -> None:
    """Give back requests whose lease ran short before their next call: due again at once, this round
    not counted, so a fresh claim (with a fresh lease) sends them."""
    now = timezone.now()
    for plan in plans:
        _requeue(plan, now, 0.0)


def _requeue(plan: _Plan, now: datetime, delay: float, **fields: Any) -> None:
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
