"""What a provider says after the send: the delivery state of its messages, and the account's credit.

One small vocabulary for every vendor (``DeliveryState``); each vendor module maps its own codes into it in
one table, and keeps its own code and text beside it for the operator.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

from providers.exceptions import AccountProblem


class DeliveryState(enum.Enum):
    PENDING = "pending"  # not final yet: on its way, or the vendor does not know yet
    DELIVERED = "delivered"  # reached the handset
    UNDELIVERED = "undelivered"  # the operator tried and could not reach the handset
    BLOCKED = "blocked"  # the number refuses such messages (blacklist, do-not-disturb)
    FAILED = "failed"  # the vendor or the operator gave up (or it was cancelled)
    UNKNOWN = "unknown"  # no final answer will come: the vendor does not know the id, or we stopped asking

    @property
    def final(self) -> bool:
        return self is not DeliveryState.PENDING


@dataclass(frozen=True)
class DeliveryReport:
    message_id: str
    state: DeliveryState
    code: str = ""  # the vendor's own status code, as text
    text: str = ""  # the vendor's meaning of it
    delivered_at: datetime | None = None  # when the vendor says it reached the handset, if it says


@dataclass(frozen=True)
class StatusResult:
    """The answer to one status call: reports for the ids the vendor answered, or an error and none."""

    reports: tuple[DeliveryReport, ...] = ()
    error_code: str = ""  # set when the call failed: nothing is known about any of its ids
    error_message: str = ""
    problem: AccountProblem | None = None
    latency_ms: int = 0


@dataclass(frozen=True)
class CreditResult:
    credit: Decimal | None = None  # in the vendor's unit (rial for both Iranian vendors); None on error
    error_code: str = ""
    error_message: str = ""
    problem: AccountProblem | None = None
    latency_ms: int = 0


# A vendor's delivery codes: code -> (our state, the vendor's documented meaning).
DeliveryTable = Mapping[int, tuple[DeliveryState, str]]


def delivery_report(
    message_id: str, code: int | None, table: DeliveryTable, *, delivered_at: datetime | None = None, text: str = ""
) -> DeliveryReport:
    """The report for a vendor code. A code the table does not know stays ``PENDING``: asking again later is
    safe, while guessing a final state could mark a message delivered or failed by mistake."""
    if code is None:
        return DeliveryReport(message_id, DeliveryState.PENDING, "", text)
    state, meaning = table.get(code, (DeliveryState.PENDING, "undocumented status"))
    return DeliveryReport(
        message_id,
        state,
        str(code),
        (text or meaning)[:100],
        delivered_at if state is DeliveryState.DELIVERED else None,
    )


def unix_time(value: object) -> datetime | None:
    """A vendor's Unix timestamp (seconds) as an aware datetime; None for anything else."""
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        return None
    try:
        return datetime.fromtimestamp(value, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


def decimal_amount(value: object) -> Decimal | None:
    """A JSON number (or numeric text) as a Decimal; None for anything else."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return None
    return amount if amount.is_finite() else None
