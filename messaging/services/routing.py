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
    scores = _scores_for(adaptive) if adaptive else None
    for plan in plans:
        if not plan.routes:
            continue
        policy = plan.routes[0].template.routing
        if policy == Routing.WEIGHTED:
            choice, reason = _weighted(plan)
        elif policy == Routing.ADAPTIVE:
            choice, reason = _adaptive(plan, scores)
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
        metrics.count_route(plan.routes[0].engine.name, policy, choice)


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


def _adaptive(plan: Plan, scores: dict[Pair, Score] | None) -> tuple[str, str]:
    config = gateway_settings()
    operator = plan.request.operator
    label = operator or "unknown operator"
    if scores is None:
        return "learning", "scores unavailable, priority order"
    mine = {route.engine_id: scores[route.engine_id, operator] for route in plan.routes}
    seen = sum(score.seen for score in mine.values())
    verification = "code" in plan.routes[0].template.token_names
    values = _values(mine, verification=verification, min_sample=config["ROUTING_MIN_SAMPLE"])
    explore = len(plan.routes) > 1 and random.random() < config["ROUTING_EXPLORATION"]
    if seen < config["ROUTING_MIN_SAMPLE"]:
        choice, reason = (
            "learning",
            f"{seen:.0f} outcomes for {label} (< {config['ROUTING_MIN_SAMPLE']}), priority order",
        )
    else:
        priority = {route.engine_id: index for index, route in enumerate(plan.routes)}
        plan.routes.sort(key=lambda route: (-round(values[route.engine_id] / _TIE), priority[route.engine_id]))
        best = mine[plan.routes[0].engine_id]
        choice, reason = "best", f"best for {label}: score {values[plan.routes[0].engine_id]:.2f} over {best.seen:.0f}"
    if explore:
        route = plan.routes.pop(random.randrange(1, len(plan.routes)))
        plan.routes.insert(0, route)
        score = mine[route.engine_id]
        choice, reason = (
            "exploration",
            f"exploration for {label}: score {values[route.engine_id]:.2f} over {score.seen:.0f}",
        )
    return choice, reason


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
