"""Read paths for the routing scores, as the provider-health page and ``/metrics`` show them.

The scores live in the cache (``services.scores``), keyed by engine id; operators read them by engine name.
A cache outage is an answer here (``None``), not an error: both readers show what they can without them.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

from messaging.models import Engine
from messaging.services.scores import Score, scores_snapshot

logger = logging.getLogger(__name__)
UNKNOWN = "unknown"  # how pages and labels name the operator of numbers whose operator is not known


@dataclass(frozen=True)
class NamedScore:
    engine: str
    operator: str
    score: Score


@dataclass
class RoutingRow:
    """One operator at one engine: its score (None when it has none) and its share of the operator's messages."""

    operator: str
    engine: str
    score: Score | None = None
    sent: int = 0
    operator_sent: int = 0

    @property
    def sent_percent(self) -> float | None:
        return 100 * self.sent / self.operator_sent if self.operator_sent else None

    @property
    def delivered_percent(self) -> float | None:
        share = self.score.delivered_share if self.score else None
        return None if share is None else 100 * share

    @property
    def approval_percent(self) -> float | None:
        share = self.score.approval_share if self.score else None
        return None if share is None else 100 * share


@dataclass
class RoutingTable:
    rows: list[RoutingRow]
    scores_available: bool


def routing_scores() -> list[NamedScore] | None:
    """Every known score under its engine's name, by operator and engine; None when the cache cannot be read.

    Scores of engines deleted since are left out.
    """
    try:
        snapshot = scores_snapshot()
    except Exception as exc:
        logger.warning("routing scores unreadable: %s", type(exc).__name__)
        return None
    names = dict(Engine.objects.filter(id__in={engine_id for engine_id, _ in snapshot}).values_list("id", "name"))
    named = [
        NamedScore(names[engine_id], operator or UNKNOWN, score)
        for (engine_id, operator), score in snapshot.items()
        if engine_id in names
    ]
    return sorted(named, key=lambda item: (item.operator, item.engine))


def routing_table(*, sent: Mapping[tuple[str, str], int]) -> RoutingTable:
    """The scores beside each engine's share of its operator's sent messages.

    ``sent`` counts messages sent per (operator, engine name), "unknown" for the unknown operator: the health page
    has already counted them for its acceptance figures, so this reads only the cache.
    """
    scores = routing_scores()
    rows = {key: RoutingRow(*key, sent=count) for key, count in sent.items()}
    for item in scores or []:
        rows.setdefault((item.operator, item.engine), RoutingRow(item.operator, item.engine)).score = item.score
    per_operator: dict[str, int] = {}
    for row in rows.values():
        per_operator[row.operator] = per_operator.get(row.operator, 0) + row.sent
    for row in rows.values():
        row.operator_sent = per_operator[row.operator]
    return RoutingTable(rows=[rows[key] for key in sorted(rows)], scores_available=scores is not None)
