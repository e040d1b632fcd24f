"""Which engine a send tries first: its template's routing policy. Failover then walks the others.

- ``priority``: the engines in their priority order (the default).
- ``weighted``: the first engine drawn by the mappings' weights (contracts, cost); the others follow in priority
  order, so an error still fails over.
- ``adaptive``: the engine with the best score for the number's operator (``scores``) first, the others by score.
  A share ``ROUTING_EXPLORATION`` of sends go first to another engine, so that its score stays current. Until
  the operator has ``ROUTING_MIN_SAMPLE`` outcomes in its window, or while the scores are unreadable, the order
  is the priority order (exploration included, so evidence accumulates).

Breakers and credit apply afterwards as with any order (``delivery``). A rescue send (``rescue_of`` set) tries
the engine that did not deliver last; a call is tried first on the engines that can call. Each first try
records why it was chosen (``Attempt.reason``) and is counted in ``sms_gateway_routing_first_tries_total``.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence

from common import metrics
from common.conf import gateway_settings
from messaging.models import Templates, TemplatesEngine, VerifyRequests
from messaging.services.outcomes import Plan
from messaging.services.scores import Pair, Score, scores_get
from providers.registry import get_adapter_class

Routing = Templates.Routing
CALL, SMS = VerifyRequests.Channel.CALL, VerifyRequests.Channel.SMS
# Scores closer than this count as equal: the priority order decides between them.
_TIE = 0.02


def plans_route(plans: Sequence[Plan]) -> None:
    """Order each plan's routes by its template's policy and give each plan the reason for its first route."""
    previous_engines = _previous_engines(plans)
    adaptive = [plan for plan in plans if plan.routes and plan.routes[0].template.routing == Routing.ADAPTIVE]
    ranking = _Ranking(_scores_for(adaptive)) if adaptive else None
    chosen: Counter[tuple[str, str, str]] = Counter()
    for plan in plans:
        if not plan.routes:
            continue
        policy = plan.routes[0].template.routing
        if policy == Routing.WEIGHTED:
            choice, reason = _weighted(plan)
        elif policy == Routing.ADAPTIVE and ranking is not None:
            choice, reason = ranking.order(plan)
        else:
            choice, reason = "priority", "priority order"
        if plan.request.rescue_of_id is not None:
            previous = previous_engines.get(plan.request.rescue_of_id)
            plan.routes.sort(key=lambda route: route.engine_id == previous)  # stable: the rest keep their order
            choice, reason = "rescue", f"rescue of a code that did not arrive; {reason}"
        if plan.request.channel == CALL:
            plan.routes.sort(key=lambda route: not _can_call(route))
            choice, reason = "call", f"voice call; {reason}"
        plan.reason = f"{policy}: {reason}"[:120]
        chosen[plan.routes[0].engine.name, policy, choice] += 1
    for (engine, policy, choice), count in chosen.items():
        metrics.count_route(engine, policy, choice, count)


def route_channel(plan: Plan, route: TemplatesEngine) -> str:
    """A call goes as a call only to an engine that can call; any other engine sends the code by SMS."""
    return CALL if plan.channel == CALL and _can_call(route) else SMS


def _can_call(route: TemplatesEngine) -> bool:
    return CALL in get_adapter_class(route.engine.kind).channels


def _previous_engines(plans: Sequence[Plan]) -> dict[int, int | None]:
    """For rescue sends: the engine that carried the send each one rescues (tried last this time)."""
    rescued = [plan.request.rescue_of_id for plan in plans if plan.request.rescue_of_id is not None]
    if not rescued:
        return {}
    return dict(VerifyRequests.objects.filter(id__in=rescued).values_list("id", "system_id"))


def _weighted(plan: Plan) -> tuple[str, str]:
    weights = [route.weight for route in plan.routes]
    total = sum(weights)
    if total <= 0:
        return "priority", "no weights set, priority order"
    first = random.choices(range(len(plan.routes)), weights=weights)[0]
    route = plan.routes.pop(first)
    plan.routes.insert(0, route)
    return "weighted", f"drawn at weight {route.weight} of {total}"


def _scores_for(plans: list[Plan]) -> dict[Pair, Score] | None:
    return scores_get({(route.engine_id, plan.request.operator) for plan in plans for route in plan.routes})


class _Ranking:
    """The adaptive order for one batch. Every plan of a template and operator has the same candidates and scores,
    so each (template, operator) is ranked once; only the exploration draw is per plan."""

    def __init__(self, scores: dict[Pair, Score] | None) -> None:
        self.scores = scores
        self.config = gateway_settings()
        self.ranked: dict[tuple[int, str], tuple[list[int], str, str, dict[int, float]]] = {}

    def order(self, plan: Plan) -> tuple[str, str]:
        operator = plan.request.operator
        if self.scores is None:
            return "learning", "scores unavailable, priority order"
        key = (plan.routes[0].template_id, operator)
        if key not in self.ranked:
            self.ranked[key] = self._rank(plan.routes, operator)
        order, choice, reason, values = self.ranked[key]
        by_engine = {route.engine_id: route for route in plan.routes}
        plan.routes[:] = [by_engine[engine_id] for engine_id in order]
        if len(plan.routes) > 1 and random.random() < self.config["ROUTING_EXPLORATION"]:
            route = plan.routes.pop(random.randrange(1, len(plan.routes)))
            plan.routes.insert(0, route)
            seen = self.scores[route.engine_id, operator].seen
            label = operator or "unknown operator"
            return "exploration", f"exploration for {label}: score {values[route.engine_id]:.2f} over {seen:.0f}"
        return choice, reason

    def _rank(self, routes: list[TemplatesEngine], operator: str) -> tuple[list[int], str, str, dict[int, float]]:
        assert self.scores is not None
        label = operator or "unknown operator"
        min_sample = self.config["ROUTING_MIN_SAMPLE"]
        mine = {route.engine_id: self.scores[route.engine_id, operator] for route in routes}
        seen = sum(score.seen for score in mine.values())
        verification = "code" in routes[0].template.token_names
        values = _values(mine, verification=verification, min_sample=min_sample)
        order = [route.engine_id for route in routes]  # priority order
        if seen < min_sample:
            return order, "learning", f"{seen:.0f} outcomes for {label} (< {min_sample}), priority order", values
        priority = {engine_id: index for index, engine_id in enumerate(order)}
        order.sort(key=lambda engine_id: (-round(values[engine_id] / _TIE), priority[engine_id]))
        best = order[0]
        reason = f"best for {label}: score {values[best]:.2f} over {mine[best].seen:.0f}"
        return order, "best", reason, values


def _values(mine: dict[int, Score], *, verification: bool, min_sample: int) -> dict[int, float]:
    """Each engine's score; for a verification template, scaled by its share of approved codes against the best
    engine's, where every engine compared has sent enough codes."""
    values = {engine_id: score.value for engine_id, score in mine.items()}
    shares = {engine_id: score.approval_share for engine_id, score in mine.items() if score.codes >= min_sample}
    if verification and len(shares) == len(mine) > 1:
        best = max(share or 0.0 for share in shares.values())
        if best > 0:
            values = {engine_id: value * (shares[engine_id] or 0.0) / best for engine_id, value in values.items()}
    return values
