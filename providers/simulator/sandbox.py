"""What a simulated vendor account holds: its API keys and their credit, its templates, and its sent messages.

Each sent message is given its fate when it is accepted: after the delivery rule's delay it is delivered, or,
for the rule's share of messages, left undelivered (or failed, or blocked). Rules are set per vendor, per
channel (texts and calls follow separate rules) and per number prefix, the longest matching prefix wins; a call
rule may also refuse calls to its numbers. Every lookup here is a dict access: the simulator serves thousands
of sends a second and must not slow down as messages pile up.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field

# Large enough that no test or benchmark runs out unless it sets a balance.
DEFAULT_BALANCE = 10**12
# How a message reaches the phone, in the words of Kavenegar's lookup ``type`` field.
SMS = "sms"
CALL = "call"
CHANNELS = (SMS, CALL)


class Fate(enum.Enum):
    DELIVERED = "delivered"
    UNDELIVERED = "undelivered"  # reached the operator, never the handset (switched off, out of coverage)
    FAILED = "failed"
    BLOCKED = "blocked"  # the recipient blacklisted the sender


@dataclass(frozen=True)
class DeliveryRule:
    delay_ms: int = 0  # from acceptance to the final state
    undelivered_share: float = 0.0  # 0..1 of the messages under this rule end as ``fail_as``
    fail_as: Fate = Fate.UNDELIVERED
    callable: bool = True  # calls only: False refuses every call to these numbers

    def as_json(self, channel: str) -> dict[str, object]:
        shown = {**asdict(self), "fail_as": self.fail_as.value}
        if channel != CALL:
            del shown["callable"]  # a text cannot be refused that way, so its rule does not show it
        return shown


@dataclass
class _RuleCounter:
    rule: DeliveryRule
    seen: int = 0

    def next_fate(self) -> Fate:
        # Exactly the share, spread evenly (30 %: the 4th, 7th and 10th of every ten), so tests can count.
        before = math.floor(self.seen * self.rule.undelivered_share + 1e-9)
        self.seen += 1
        after = math.floor(self.seen * self.rule.undelivered_share + 1e-9)
        return self.rule.fail_as if after > before else Fate.DELIVERED


@dataclass(slots=True)
class SentMessage:
    key: str  # the API key that sent it: another key's status call does not see it
    receptor: str  # national form, 09XXXXXXXXX
    text: str
    cost: int
    sent_at: float  # Unix seconds
    final_at: float
    fate: Fate

    def fate_at(self, now: float) -> Fate | None:
        """The final state once reached, else None (still with the operator)."""
        return self.fate if now >= self.final_at else None


class _RuleBook:
    """One channel's delivery rules, by number prefix."""

    def __init__(self) -> None:
        self._counters = {"": _RuleCounter(DeliveryRule())}
        self._prefix_lengths = [0]

    def set(self, prefix: str, rule: DeliveryRule) -> None:
        self._counters[prefix] = _RuleCounter(rule)
        self._prefix_lengths = sorted({len(known) for known in self._counters}, reverse=True)

    def as_json(self, channel: str) -> dict[str, dict[str, object]]:
        return {prefix: counter.rule.as_json(channel) for prefix, counter in sorted(self._counters.items())}

    def counter_for(self, receptor: str) -> _RuleCounter:
        # A handful of prefix lengths, not a scan of the rules: the longest configured prefix wins.
        for length in self._prefix_lengths:
            counter = self._counters.get(receptor[:length])
            if counter is not None:
                return counter
        return self._counters[""]


@dataclass
class Account:
    """One vendor's side of the sandbox."""

    balances: dict[str, int] = field(default_factory=dict)  # API key -> credit in the vendor's unit
    templates: set[str] = field(default_factory=set)
    messages: dict[int, SentMessage] = field(default_factory=dict)
    status_calls: int = 0
    status_ids: int = 0
    credit_calls: int = 0
    # With no rule of its own, every text and every call is delivered at once.
    _books: dict[str, _RuleBook] = field(init=False, default_factory=lambda: {name: _RuleBook() for name in CHANNELS})

    def set_rule(self, prefix: str, rule: DeliveryRule, *, channel: str) -> None:
        self._books[channel].set(prefix, rule)

    def rules(self, channel: str) -> dict[str, dict[str, object]]:
        return self._books[channel].as_json(channel)

    def takes_calls_to(self, receptor: str) -> bool:
        return self._books[CALL].counter_for(receptor).rule.callable

    def charge(self, key: str, cost: int) -> bool:
        """Spend ``cost`` of the key's credit; False (nothing spent) when it has less than that."""
        balance = self.balances[key]
        if balance < cost:
            return False
        self.balances[key] = balance - cost
        return True

    def accept(
        self, message_id: int, *, key: str, receptor: str, channel: str, text: str, cost: int, now: float
    ) -> SentMessage:
        counter = self._books[channel].counter_for(receptor)
        message = SentMessage(
            key=key,
            receptor=receptor,
            text=text,
            cost=cost,
            sent_at=now,
            final_at=now + counter.rule.delay_ms / 1000,
            fate=counter.next_fate(),
        )
        self.messages[message_id] = message
        return message

    def message_of(self, key: str, message_id: int) -> SentMessage | None:
        message = self.messages.get(message_id)
        return message if message is not None and message.key == key else None


def new_account(keys: Iterable[str], templates: Iterable[str]) -> Account:
    return Account(balances=dict.fromkeys(keys, DEFAULT_BALANCE), templates=set(templates))
