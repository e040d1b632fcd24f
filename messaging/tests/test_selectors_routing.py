"""The routing scores by engine name and operator, and beside them each engine's share of an operator's messages."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import override_settings

from messaging.models import Engine
from messaging.selectors_routing import routing_scores, routing_table
from messaging.services.scores import Outcomes, scores_rebuild, scores_record
from messaging.tests.conftest import UNREACHABLE_CACHE
from messaging.tests.factories import make_engine


@pytest.fixture
def engines(db: Any) -> tuple[Engine, Engine]:
    smsir, kavenegar = make_engine(name="smsir"), make_engine(name="kavenegar", kind="kavenegar")
    scores_rebuild()
    learned = Outcomes()
    learned.report(smsir.id, "Rightel", "delivered")
    learned.report(kavenegar.id, "", "undelivered")
    scores_record(learned)
    return smsir, kavenegar


def test_scores_are_named_by_engine_and_operator_leaving_out_deleted_engines(engines: tuple[Engine, Engine]) -> None:
    assert [(item.operator, item.engine, item.score.seen) for item in routing_scores() or []] == [
        ("Rightel", "smsir", 1.0),
        ("unknown", "kavenegar", 1.0),
    ]

    engines[1].delete()

    assert [(item.operator, item.engine) for item in routing_scores() or []] == [("Rightel", "smsir")]


def test_each_engines_share_of_an_operators_messages_stands_beside_its_score(engines: tuple[Engine, Engine]) -> None:
    table = routing_table(sent={("Rightel", "smsir"): 3, ("Rightel", "kavenegar"): 1})

    rows = {(row.operator, row.engine): row for row in table.rows}
    assert table.scores_available and list(rows) == [
        ("Rightel", "kavenegar"),
        ("Rightel", "smsir"),
        ("unknown", "kavenegar"),
    ]
    assert (rows["Rightel", "smsir"].sent_percent, rows["Rightel", "smsir"].delivered_percent) == (75, 100)
    assert rows["Rightel", "kavenegar"].score is None and rows["Rightel", "kavenegar"].sent_percent == 25
    assert rows["unknown", "kavenegar"].sent_percent is None and rows["unknown", "kavenegar"].delivered_percent == 0


def test_without_the_cache_the_scores_are_unavailable_and_the_shares_remain(engines: tuple[Engine, Engine]) -> None:
    with override_settings(CACHES=UNREACHABLE_CACHE):
        assert routing_scores() is None
        table = routing_table(sent={("Rightel", "smsir"): 2})

    assert not table.scores_available
    assert [(row.engine, row.score, row.sent_percent) for row in table.rows] == [("smsir", None, 100)]
