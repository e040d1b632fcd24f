"""The simulator's whole state, kept in memory: what it received, the faults it injects, each vendor's account."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from providers.simulator.sandbox import Account, new_account
from providers.simulator.wire import SMSIR, VENDORS

# The keys and templates every vendor knows until told otherwise: those scripts/up.sh and demo/providers.yaml
# configure, and those the tests and the benchmark give their engines.
DEFAULT_KEYS: dict[str, tuple[str, ...]] = {
    "smsir": ("demo-smsir-key", "smsir-test-key"),
    "kavenegar": ("demo-kavenegar-key", "kavenegar-test-key"),
}
DEFAULT_TEMPLATES: dict[str, tuple[str, ...]] = {
    "smsir": ("100000", "100001"),
    "kavenegar": ("verify", "shipped"),
}
# "credit", "rate_limit", "bad_key", "invalid_number", "template_not_found": each vendor's own code for it.
NAMED_ERROR_MODES = frozenset(SMSIR.codes)
MODES = frozenset({"ok", "latency", "http500", "timeout", "reset", "garbage", "error"}) | NAMED_ERROR_MODES
# Faults are set per vendor endpoint: the send, the delivery-status and the credit calls fail independently.
ENDPOINTS = ("send", "status", "credit")


@dataclass
class Fault:
    mode: str = "ok"
    latency_ms: int = 0
    fail_first: int | None = None  # how many more requests it applies to; None: until changed
    code: int | None = None


class SimulatorState:
    def __init__(
        self,
        keys: Mapping[str, Iterable[str]] | None = None,
        templates: Mapping[str, Iterable[str]] | None = None,
    ) -> None:
        # What a reset returns to: the defaults plus whatever the simulator was started with.
        self.initial_keys = {name: (*DEFAULT_KEYS[name], *(keys or {}).get(name, ())) for name in VENDORS}
        self.initial_templates = {
            name: (*DEFAULT_TEMPLATES[name], *(templates or {}).get(name, ())) for name in VENDORS
        }
        self.records: dict[str, list[dict[str, Any]]] = {name: [] for name in VENDORS}
        self.faults: dict[tuple[str, str], Fault] = {}
        self.accounts: dict[str, Account] = {}
        # Ids keep increasing across resets, so no two answers in one run share an id.
        self.ids = {name: itertools.count(1) for name in VENDORS}
        self.stopping = asyncio.Event()
        self.reset()

    def reset(self) -> None:
        for name in VENDORS:
            self.records[name].clear()
            for endpoint in ENDPOINTS:
                self.faults[name, endpoint] = Fault()
            self.accounts[name] = new_account(self.initial_keys[name], self.initial_templates[name])

    def take_fault(self, provider: str, endpoint: str = "send") -> Fault:
        fault = self.faults[provider, endpoint]
        if fault.fail_first is not None:
            fault.fail_first -= 1
            if fault.fail_first <= 0:
                self.faults[provider, endpoint] = Fault()
        return fault


STATE = web.AppKey("state", SimulatorState)
