"""How well each engine delivers to each mobile operator, as the adaptive routing policy sees it.

A score is kept per (engine, operator) in the cache, where every worker sees it. Its evidence is the outcome of
each message to that operator: a send the provider refused counts against the engine, a final delivery report
counts for (delivered) or against it (undelivered, failed, blocked). Evidence ages with the operator's traffic,
not with the clock: each new outcome to an operator multiplies every engine's counts for it by
``1 - 1/ROUTING_WINDOW``. So an engine that stopped getting traffic slowly forgets what it did, and the
exploration share re-learns it within a few hundred messages, however quiet or busy the hour.

The value is the share of good outcomes, smoothed towards an optimistic prior (``PRIOR`` over ``PRIOR_WEIGHT``
outcomes), so a handful of outcomes cannot rank an engine first or last on its own. Verification templates
also count approved codes against codes sent (counted when their send's report is final), per engine and
operator: shown to operators, and used by the policy to scale an engine's value against the best's.

Updates are read-modify-write of a few keys per batch (``get_many`` then ``set_many``): two workers updating
the same key at the same moment lose one batch's counts. A score is an estimate; that loss does not matter.
A cache flush loses them all: ``scores_ensure`` rebuilds them from the last ``ROUTING_REBUILD_HOURS`` of
requests, and until then the policy falls back to priority order.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.core.cache import cache
from django.db.models import Count
from django.dispatch import Signal
from django.utils import timezone

from common.conf import gateway_settings
from common.memo import Memo
from messaging.models import Attempt, VerifyRequests

logger = logging.getLogger(__name__)
Delivery = VerifyRequests.Delivery

PRIOR = 0.9
PRIOR_WEIGHT = 5.0
_KEY = "sms:score:{engine_id}:{operator}"
_PAIRS_KEY = "sms:scores:pairs"  # every (engine, operator) with a score, for the health page and /metrics
_BUILT_KEY = "sms:scores:built"
_REBUILD_LOCK_KEY = "sms:scores:rebuilding"
_KEEP_SECONDS = 7 * 24 * 3600
GOOD_STATES = frozenset({Delivery.DELIVERED})
BAD_STATES = frozenset({Delivery.UNDELIVERED, Delivery.FAILED, Delivery.BLOCKED})

# Sent during a rebuild with ``outcomes`` (to add to) and ``since``; apps add the evidence they keep.
scores_rebuilding = Signal()

Pair = tuple[int, str]  # (engine id, operator name; "" when the number's operator is unknown)


@dataclass(frozen=True)
class Score:
    good: float = 0.0  # decayed count of messages that reached the handset
    seen: float = 0.0  # decayed count of outcomes (good + refused + not delivered)
    approved: float = 0.0  # decayed count of verification codes approved
    codes: float = 0.0  # decayed count of verification codes the engine took

    @property
    def value(self) -> float:
        return (self.good + PRIOR * PRIOR_WEIGHT) / (self.seen + PRIOR_WEIGHT)

    @property
    def delivered_share(self) -> float | None:
        return self.good / self.seen if self.seen else None

    @property
    def approval_share(self) -> float | None:
        return min(1.0, self.approved / self.codes) if self.codes else None

    def as_list(self) -> list[float]:
        return [round(self.good, 4), round(self.seen, 4), round(self.approved, 4), round(self.codes, 4)]

    @classmethod
    def from_value(cls, value: Any) -> Score:
        if isinstance(value, list | tuple) and len(value) == 4:
            try:
                return cls(*(max(0.0, float(item)) for item in value))
            except (TypeError, ValueError):
                pass
        return cls()


@dataclass
class Outcomes:
    """What one batch learned, per (engine, operator): counted, then written with ``scores_record``."""

    good: defaultdict[Pair, int]
    seen: defaultdict[Pair, int]
    approved: defaultdict[Pair, int]
    codes: defaultdict[Pair, int]

    def __init__(self) -> None:
        self.good, self.seen = defaultdict(int), defaultdict(int)
        self.approved, self.codes = defaultdict(int), defaultdict(int)

    def refused(self, engine_id: int, operator: str) -> None:
        self.seen[engine_id, operator] += 1

    def report(self, engine_id: int, operator: str, state: str, amount: int = 1) -> None:
        if state in GOOD_STATES:
            self.good[engine_id, operator] += amount
            self.seen[engine_id, operator] += amount
        elif state in BAD_STATES:
            self.seen[engine_id, operator] += amount

    def code_sent(self, engine_id: int, operator: str) -> None:
        self.codes[engine_id, operator] += 1

    def code_approved(self, engine_id: int, operator: str) -> None:
        self.approved[engine_id, operator] += 1

    def pairs(self) -> set[Pair]:
        return set(self.seen) | set(self.codes) | set(self.approved)

    def per_operator(self) -> tuple[defaultdict[str, int], defaultdict[str, int]]:
        """Outcomes and codes per operator, over every engine."""
        seen: defaultdict[str, int] = defaultdict(int)
        codes: defaultdict[str, int] = defaultdict(int)
        for (_, operator), count in self.seen.items():
            seen[operator] += count
        for (_, operator), count in self.codes.items():
            codes[operator] += count
        return seen, codes


def _key(pair: Pair) -> str:
    return _KEY.format(engine_id=pair[0], operator=pair[1] or "-")


def _decay() -> float:
    return 1.0 - 1.0 / max(1, int(gateway_settings()["ROUTING_WINDOW"]))


def _known_pairs() -> set[Pair]:
    value = cache.get(_PAIRS_KEY) or []
    return {(int(engine_id), str(operator)) for engine_id, operator in value}


def scores_record(outcomes: Outcomes) -> None:
    """Add a batch's outcomes. Never raises: a cache outage costs the batch's evidence, never a send."""
    touched = outcomes.pairs()
    if not touched:
        return
    try:
        _record(outcomes, touched)
    except Exception as exc:
        logger.warning("routing scores not updated: %s", type(exc).__name__)


def _record(outcomes: Outcomes, touched: set[Pair]) -> None:
    known = _known_pairs()
    operators = {operator for _, operator in touched}
    # Every engine's evidence about an operator ages when that operator gets news, the silent ones included.
    pairs = touched | {pair for pair in known if pair[1] in operators}
    keys = {pair: _key(pair) for pair in pairs}
    current = cache.get_many(list(keys.values()))
    news, code_news = outcomes.per_operator()
    decay = _decay()
    fresh: dict[str, list[float]] = {}
    for pair, key in keys.items():
        old = Score.from_value(current.get(key))
        outcome_aging = decay ** news[pair[1]]
        code_aging = decay ** code_news[pair[1]]
        fresh[key] = Score(
            good=old.good * outcome_aging + outcomes.good.get(pair, 0),
            seen=old.seen * outcome_aging + outcomes.seen.get(pair, 0),
            approved=old.approved * code_aging + outcomes.approved.get(pair, 0),
            codes=old.codes * code_aging + outcomes.codes.get(pair, 0),
        ).as_list()
    cache.set_many(fresh, timeout=_KEEP_SECONDS)
    if not pairs <= known:
        cache.set(_PAIRS_KEY, sorted(known | pairs), timeout=None)


# Each process reads every score at most every ROUTING_MEMO_SECONDS: routing costs no cache call per message.
# The value: whether the scores are usable, and the scores of every known pair.
_memo: Memo[str, tuple[bool, dict[Pair, Score]]] = Memo(lambda: float(gateway_settings()["ROUTING_MEMO_SECONDS"]))


def scores_get(pairs: Iterable[Pair]) -> dict[Pair, Score] | None:
    """The scores of ``pairs`` (empty for a pair with no evidence), or None when they cannot be trusted at all:
    the cache is down, or it was emptied and the rebuild has not run yet."""
    known = _memo.get("all")
    if known is None:
        try:
            built = cache.get(_BUILT_KEY) is not None
            known = (built, scores_snapshot() if built else {})
        except Exception as exc:
            logger.warning("routing scores unreadable: %s", type(exc).__name__)
            known = (False, {})
        _memo.put("all", known)
    usable, scores = known
    return {pair: scores.get(pair, Score()) for pair in pairs} if usable else None


def scores_snapshot() -> dict[Pair, Score]:
    """Every known (engine, operator) score, for operators (the health page, /metrics). Raises on a cache outage."""
    pairs = sorted(_known_pairs())
    keys = {_key(pair): pair for pair in pairs}
    values = cache.get_many(list(keys))
    return {pair: Score.from_value(values.get(key)) for key, pair in keys.items()}


def scores_ensure(*, now: datetime | None = None) -> bool:
    """Rebuild the scores from the database when the cache has lost them; True when a rebuild ran.

    Called by the report poller each run: one cache read when nothing is missing. One worker rebuilds at a time.
    """
    try:
        if cache.get(_BUILT_KEY) is not None or not cache.add(_REBUILD_LOCK_KEY, 1, timeout=300):
            return False
    except Exception as exc:
        logger.warning("routing scores not checked: %s", type(exc).__name__)
        return False
    try:
        scores_rebuild(now=now)
    finally:
        cache.delete(_REBUILD_LOCK_KEY)
    return True


def scores_rebuild(*, now: datetime | None = None) -> int:
    """Replace every score by one counted from the last ``ROUTING_REBUILD_HOURS`` of requests; return the pairs.

    Counts are capped at ``ROUTING_WINDOW`` per operator (the weight the live scores give to recent evidence),
    keeping each engine's proportions.
    """
    now = now or timezone.now()
    since = now - timedelta(hours=gateway_settings()["ROUTING_REBUILD_HOURS"])
    outcomes = Outcomes()
    reports = (
        VerifyRequests.objects.filter(
            completed_at__gte=since, system__isnull=False, delivery_state__in=[*GOOD_STATES, *BAD_STATES]
        )
        .values_list("system_id", "operator", "delivery_state")
        .annotate(count=Count("id"))
        .order_by()
    )
    for engine_id, operator, state, count in reports:
        outcomes.report(engine_id, operator, state, count)
    refusals = (
        Attempt.objects.filter(created_at__gte=since, outcome__in=[Attempt.Outcome.FAILED, Attempt.Outcome.TIMEOUT])
        .values_list("engine_id", "request__operator")
        .annotate(count=Count("id"))
        .order_by()
    )
    for engine_id, operator, count in refusals:
        outcomes.seen[engine_id, operator] += count
    # Verification codes are counted by the verifications app, which builds on this one.
    scores_rebuilding.send(sender=Outcomes, outcomes=outcomes, since=since)
    window = float(max(1, int(gateway_settings()["ROUTING_WINDOW"])))
    scores = _capped(outcomes, window)
    cache.delete_many([_key(pair) for pair in _known_pairs()])
    cache.set_many({_key(pair): score.as_list() for pair, score in scores.items()}, timeout=_KEEP_SECONDS)
    cache.set(_PAIRS_KEY, sorted(scores), timeout=None)
    cache.set(_BUILT_KEY, now.isoformat(), timeout=None)
    _memo.clear()
    return len(scores)


def _capped(outcomes: Outcomes, window: float) -> dict[Pair, Score]:
    seen_by_operator, codes_by_operator = outcomes.per_operator()
    scores = {}
    for pair in outcomes.pairs():
        seen_scale = min(1.0, window / seen_by_operator[pair[1]]) if seen_by_operator[pair[1]] else 1.0
        code_scale = min(1.0, window / codes_by_operator[pair[1]]) if codes_by_operator[pair[1]] else 1.0
        scores[pair] = Score(
            good=outcomes.good.get(pair, 0) * seen_scale,
            seen=outcomes.seen.get(pair, 0) * seen_scale,
            approved=outcomes.approved.get(pair, 0) * code_scale,
            codes=outcomes.codes.get(pair, 0) * code_scale,
        )
    return scores
