"""Routing policies in-process: the dispatcher sends to the provider simulator over HTTP, and each attempt says why
its engine was tried. The policies' delivered shares at scale: test_routing_simulation.py and bench/routing.py."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.conf import settings
from django.core.cache import cache
from django.test import override_settings

from bench.routing import deliver
from common.memo import memos_clear
from messaging import breaker
from messaging.models import Attempt, Templates, TemplatesEngine, VerifyRequests
from messaging.services.scores import Outcomes, scores_ensure, scores_get, scores_rebuild, scores_record
from messaging.tests.conftest import engine, new_request

pytestmark = pytest.mark.django_db
MCI = "IR-MCI"


def routed(client: Any, *, phone: str = "+989121234567") -> list[Attempt]:
    request = new_request(client, phone=phone, operator=MCI)
    deliver([request.id])
    return list(Attempt.objects.filter(request=request).select_related("engine").order_by("id"))


def policy(name: str) -> None:
    Templates.objects.filter(template_id=1).update(routing=name)


def evidence(engine_name: str, *, delivered: int, undelivered: int, operator: str = MCI) -> None:
    learned = Outcomes()
    engine_id = engine(engine_name).id
    for _ in range(delivered):
        learned.report(engine_id, operator, VerifyRequests.Delivery.DELIVERED)
    for _ in range(undelivered):
        learned.report(engine_id, operator, VerifyRequests.Delivery.UNDELIVERED)
    scores_record(learned)


def test_priority_is_the_default_and_says_so(gateway, api_client_key):
    [attempt] = routed(api_client_key[0])
    assert (attempt.engine.name, attempt.reason, attempt.channel) == ("smsir", "priority: priority order", "sms")


def test_weighted_draws_the_first_engine_by_weight_and_fails_over_in_priority_order(gateway, api_client_key):
    policy("weighted")
    TemplatesEngine.objects.filter(engine__name="smsir").update(weight=0)
    TemplatesEngine.objects.filter(engine__name="kavenegar").update(weight=3)
    gateway.fault("kavenegar", "http500")

    first, second = routed(api_client_key[0])

    assert (first.engine.name, first.reason) == ("kavenegar", "weighted: drawn at weight 3 of 3")
    assert (second.engine.name, second.reason, second.outcome) == ("smsir", "failover", Attempt.Outcome.SENT)


def test_adaptive_keeps_priority_order_until_it_knows_enough(gateway, api_client_key):
    policy("adaptive")
    [attempt] = routed(api_client_key[0])  # the cache was emptied and nothing rebuilt it yet
    assert (attempt.engine.name, attempt.reason) == ("smsir", "adaptive: scores unavailable, priority order")

    scores_rebuild()
    evidence("kavenegar", delivered=5, undelivered=0)
    with gateway_settings(ROUTING_EXPLORATION=0.0):
        [attempt] = routed(api_client_key[0], phone="+989121234568")
    assert (attempt.engine.name, attempt.reason) == ("smsir", f"adaptive: 5 outcomes for {MCI} (< 20), priority order")


def test_adaptive_sends_first_through_the_engine_that_delivers_to_the_operator(gateway, api_client_key):
    policy("adaptive")
    scores_rebuild()
    evidence("smsir", delivered=18, undelivered=12)
    evidence("kavenegar", delivered=30, undelivered=0)

    with gateway_settings(ROUTING_EXPLORATION=0.0):
        [attempt] = routed(api_client_key[0])

    assert attempt.engine.name == "kavenegar"
    assert attempt.reason.startswith(f"adaptive: best for {MCI}: score 0.9")
    # Another operator has no evidence of its own: priority order there.
    with gateway_settings(ROUTING_EXPLORATION=0.0):
        request = new_request(api_client_key[0], phone="+989351234567", operator="Irancell")
        deliver([request.id])
    assert Attempt.objects.get(request=request).engine.name == "smsir"


def test_exploration_sends_first_through_another_engine_and_says_so(gateway, api_client_key):
    policy("adaptive")
    scores_rebuild()
    evidence("smsir", delivered=10, undelivered=20)
    evidence("kavenegar", delivered=30, undelivered=0)

    with gateway_settings(ROUTING_EXPLORATION=1.0):
        [attempt] = routed(api_client_key[0])

    assert attempt.engine.name == "smsir"
    assert attempt.reason.startswith(f"adaptive: exploration for {MCI}: score 0.")


def test_an_open_breaker_on_the_best_engine_is_skipped_with_the_reason_kept(gateway, api_client_key):
    policy("adaptive")
    scores_rebuild()
    evidence("kavenegar", delivered=30, undelivered=0)
    evidence("smsir", delivered=10, undelivered=20)
    for _ in range(10):
        breaker.breaker_record(engine("kavenegar").id, healthy=False)

    with gateway_settings(ROUTING_EXPLORATION=0.0):
        skipped, sent = routed(api_client_key[0])

    assert (skipped.engine.name, skipped.outcome) == ("kavenegar", Attempt.Outcome.SKIPPED)
    assert skipped.reason.startswith("adaptive: best for")
    assert (sent.engine.name, sent.reason, sent.outcome) == ("smsir", "failover", Attempt.Outcome.SENT)


def test_refusals_count_against_an_engine_and_every_engines_evidence_ages_with_the_operators_traffic(
    gateway, api_client_key
):
    scores_rebuild()
    evidence("kavenegar", delivered=10, undelivered=0)
    gateway.fault("smsir", "http500")
    routed(api_client_key[0])  # smsir refuses, kavenegar takes it

    memos_clear()
    scores = scores_get({(engine("smsir").id, MCI), (engine("kavenegar").id, MCI)})
    assert scores is not None
    smsir, kavenegar = scores[engine("smsir").id, MCI], scores[engine("kavenegar").id, MCI]
    assert (smsir.seen, smsir.good) == (1, 0)
    assert kavenegar.good == pytest.approx(10 * 0.99)  # one more outcome for the operator: evidence aged once


def test_a_cache_flush_loses_no_ranking_the_poller_rebuilds_it_from_the_database(gateway, api_client_key):
    policy("adaptive")
    gateway.call("POST", "/_sim/delivery", {"provider": "smsir", "prefix": "0912", "undelivered_share": 1})
    with gateway_settings(REPORTS_FIRST_POLL_SECONDS=0.0, ROUTING_EXPLORATION=0.0, ROUTING_MEMO_SECONDS=0.0):
        scores_rebuild()
        for index in range(25):
            routed(api_client_key[0], phone=f"+98912100{index:04d}")
        assert routed(api_client_key[0], phone="+989121009999")[0].engine.name == "kavenegar"

        cache.clear()
        memos_clear()
        assert scores_ensure() is True  # the report poller's first step
        assert scores_ensure() is False  # once: the scores are marked complete

        assert routed(api_client_key[0], phone="+989121008888")[0].engine.name == "kavenegar"


def test_the_api_shows_why_each_engine_was_tried(gateway, api, api_client_key):
    gateway.fault("smsir", "http500")
    request = new_request(api.gateway_client, operator=MCI)
    deliver([request.id])

    attempts = api.get(f"/sendsms/{request.id}/").json()["attempts"]

    assert [(item["engine"], item["channel"], item["reason"]) for item in attempts] == [
        ("smsir", "sms", "priority: priority order"),
        ("kavenegar", "sms", "failover"),
    ]


@contextmanager
def gateway_settings(**values: Any) -> Iterator[None]:
    """Override SMS_GATEWAY keys; per-process memos (the scores read) start afresh on the way in and out."""
    memos_clear()
    with override_settings(SMS_GATEWAY={**settings.SMS_GATEWAY, **values}):
        yield
    memos_clear()
