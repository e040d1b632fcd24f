"""Delivery-aware routing, simulated: the share of messages delivered under each policy when providers differ.

SMS.IR leaves 40 % of Irancell messages undelivered and Kavenegar 30 % of MCI messages (the simulator's
per-prefix delivery rules). Messages go through the real dispatcher to the simulator over HTTP, and their delivery
reports are polled as the workers poll them, in steps of ``STEP`` messages per operator: what one step learns
steers the next, as reports steer live traffic a few seconds behind.

- ``priority`` and ``adaptive``: after ``--warmup`` messages per operator, the delivered share of the next
  ``--messages`` to each operator.
- ``flip``: adaptive, then the failures change sides (Kavenegar fails Irancell, SMS.IR fails MCI); the delivered
  share of the first 300 messages per operator after the flip and of those after them.
- ``verify``: verifications end to end (start, the code as the simulator received it and only if it reached the
  handset, check) with rescue on and off: the share approved.

    .venv/bin/python -m bench.routing [--setup pg|embedded] [--warmup 200] [--messages 2000] [--verifications 2000]
                                      [--seed 1] [--scenarios policies flip verify]

The test messaging/tests/test_routing_simulation.py runs the same scenarios smaller and asserts their bounds.
"""

from __future__ import annotations

import argparse
import itertools
import random
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

from bench import stack

DATABASE = "sms_routing"
STEP = 10  # messages per operator between two report polls
# National prefixes the phonenumbers carrier data gives to each operator.
OPERATORS = {"IR-MCI": "0912", "Irancell": "0935"}
FAILURES = {
    "before": {("smsir", "0935"): 0.4, ("kavenegar", "0912"): 0.3},
    "flipped": {("kavenegar", "0935"): 0.4, ("smsir", "0912"): 0.3},
}
_numbers = itertools.count(1_000_001)


class SimulatorControl(Protocol):
    url: str

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any: ...


@dataclass
class Shares:
    """Delivered (or approved) share per operator."""

    counts: dict[str, tuple[int, int]]  # operator -> (good, total)

    def share(self, operator: str) -> float:
        good, total = self.counts[operator]
        return good / total if total else 0.0

    def line(self) -> str:
        return ", ".join(
            f"{operator} {self.share(operator):.1%} of {self.counts[operator][1]}" for operator in OPERATORS
        )


@contextmanager
def scenario_settings() -> Iterator[None]:
    """Reports looked for at once (the simulator decides at once), no rate limits, rescue without waiting."""
    from django.conf import settings
    from django.test import override_settings

    from common.memo import memos_clear

    gateway = dict(settings.SMS_GATEWAY)
    gateway.update(
        REPORTS_FIRST_POLL_SECONDS=0.0,
        REPORTS_INTERVAL_SECONDS=0,
        RATE_LIMITS={"phone": [], "prefix": [], "client": [], "ip": []},
        RESCUE_AFTER_SECONDS=30,
        OTP_RESEND_INTERVAL_SECONDS=0,
    )
    with override_settings(SMS_GATEWAY=gateway):
        memos_clear()
        yield
    memos_clear()


def configure(sim: SimulatorControl, *, policy: str, rescue: bool = False) -> None:
    """Both engines on the simulator, template 1 (a verification template) under ``policy``; scores empty."""
    from django.core.cache import cache

    from common.memo import memos_clear
    from messaging.models import Templates, TemplatesEngine
    from messaging.services.config import providers_load
    from messaging.services.routes import routes_changed
    from messaging.services.scores import scores_rebuild
    from messaging.tests.conftest import gateway_config

    providers_load(data=gateway_config(sim.url))
    Templates.objects.filter(template_id=1).update(routing=policy, rescue=rescue)
    TemplatesEngine.objects.filter(template__template_id=1).update(weight=50)  # weighted: an even split
    cache.clear()
    routes_changed()
    memos_clear()
    scores_rebuild()  # nothing sent yet: every score starts empty, and known to be complete
    failures(sim, "before")


def failures(sim: SimulatorControl, side: str) -> None:
    for provider in ("smsir", "kavenegar"):
        for prefix in OPERATORS.values():
            share = FAILURES[side].get((provider, prefix), 0.0)
            sim.call("POST", "/_sim/delivery", {"provider": provider, "prefix": prefix, "undelivered_share": share})


def _phone(prefix: str) -> str:
    return f"+98{prefix[1:]}{next(_numbers) % 10_000_000:07d}"


def send_step(client: Any, count: int) -> dict[str, list[int]]:
    """``count`` messages to each operator, sent and their reports polled; the request ids per operator."""
    from common.phones import phone_operator
    from common.sealing import seal
    from messaging.models import Templates, VerifyRequests
    from messaging.rowwrites import insert_many

    template = Templates.objects.get(template_id=1)
    rows = {
        operator: [
            VerifyRequests(
                request_sender=client,
                phone=(phone := _phone(prefix)),
                operator=phone_operator(phone),
                template=template,
                token_value=seal({"code": "123456"}),
            )
            for _ in range(count)
        ]
        for operator, prefix in OPERATORS.items()
    }
    insert_many([row for operator_rows in rows.values() for row in operator_rows])
    deliver([row.id for operator_rows in rows.values() for row in operator_rows])
    return {operator: [row.id for row in operator_rows] for operator, operator_rows in rows.items()}


def deliver(request_ids: list[int]) -> None:
    """Send the requests (the dispatcher, real HTTP) and poll every report that is due."""
    from messaging.services.delivery import requests_deliver
    from messaging.services.reports import reports_poll

    requests_deliver(request_ids=request_ids)
    while reports_poll():
        pass


def delivered(ids: dict[str, list[int]]) -> Shares:
    from messaging.models import VerifyRequests

    counts = {}
    for operator, request_ids in ids.items():
        states = list(VerifyRequests.objects.filter(id__in=request_ids).values_list("delivery_state", flat=True))
        counts[operator] = (sum(state == VerifyRequests.Delivery.DELIVERED for state in states), len(request_ids))
    return Shares(counts)


def run_messages(sim: SimulatorControl, client: Any, *, policy: str, warmup: int, messages: int) -> Shares:
    configure(sim, policy=policy)
    _steps(client, warmup)
    return delivered(_steps(client, messages))


def run_flip(sim: SimulatorControl, client: Any, *, warmup: int, after: int) -> tuple[Shares, Shares, list[Shares]]:
    """Adaptive, warmed up, then the failures change sides: the first 300 messages per operator after, the
    ``after`` next ones, and the first 300 in windows of 50."""
    configure(sim, policy="adaptive")
    _steps(client, warmup)
    failures(sim, "flipped")
    first = _steps(client, 300)
    windows = [
        delivered({operator: ids[start : start + 50] for operator, ids in first.items()}) for start in range(0, 300, 50)
    ]
    return delivered(first), delivered(_steps(client, after)), windows


def _steps(client: Any, total: int) -> dict[str, list[int]]:
    ids: dict[str, list[int]] = {operator: [] for operator in OPERATORS}
    for start in range(0, total, STEP):
        for operator, step_ids in send_step(client, min(STEP, total - start)).items():
            ids[operator].extend(step_ids)
    return ids


def run_verifications(sim: SimulatorControl, client: Any, *, rescue: bool, warmup: int, count: int) -> Shares:
    """Adaptive routing, warmed up with ``warmup`` messages per operator, then ``count`` verifications per
    operator: each code checked if (and as) a provider delivered it to the handset."""
    from messaging.models import VerifyRequests
    from verifications.models import Verification
    from verifications.rescue import verifications_rescue
    from verifications.services import verification_check, verification_start

    configure(sim, policy="adaptive", rescue=rescue)
    _steps(client, warmup)
    approved = dict.fromkeys(OPERATORS, 0)
    for start in range(0, count, STEP):
        started: dict[str, list[Verification]] = {operator: [] for operator in OPERATORS}
        for operator, prefix in OPERATORS.items():
            for _ in range(min(STEP, count - start)):
                result = verification_start(client=client, phone=_phone(prefix), template_id=1, ip="127.0.0.1")
                started[operator].append(result.verification)
        pending = [v.send_request_id for batch in started.values() for v in batch]
        deliver([request_id for request_id in pending if request_id is not None])
        if rescue:  # undelivered reports are in: the rescue check sends again, then a call if allowed
            for _ in range(2):
                if verifications_rescue():
                    due = VerifyRequests.objects.filter(flag=VerifyRequests.Flag.PENDING)
                    deliver(list(due.values_list("id", flat=True)))
        codes = handset_codes(sim)
        for operator, batch in started.items():
            for verification in batch:
                code = codes.get(verification.phone)
                if code is not None:
                    approved[operator] += verification_check(verification=verification, code=code).status == "approved"
    return Shares({operator: (approved[operator], count) for operator in OPERATORS})


def handset_codes(sim: SimulatorControl) -> dict[str, str]:
    """The code each phone received, from the messages the simulator delivered to the handset."""
    codes = {}
    for record in sim.call("GET", "/_sim/received")["requests"]:
        if record.get("fate") == "delivered":
            params = record["params"]
            codes[record["mobile"]] = str(params.get("CODE") or params.get("token") or "")
    return codes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--setup", choices=["pg", "embedded"], default="pg")
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--verifications", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1, help="for the random draws of exploration and weights")
    parser.add_argument(
        "--scenarios", nargs="+", choices=["policies", "flip", "verify"], default=["policies", "flip", "verify"]
    )
    args = parser.parse_args(argv)
    random.seed(args.seed)
    with stack.in_this_process(args.setup, DATABASE):
        return _measure(args)


def _measure(args: argparse.Namespace) -> int:
    import django

    django.setup()
    from django.core.management import call_command

    from clients.services import client_create
    from tests.processes import Simulator

    call_command("migrate", verbosity=0)
    client, _ = client_create(name="routing-bench")
    sim = Simulator()
    started = time.monotonic()
    try:
        with scenario_settings():
            lines = []
            for policy in ("priority", "weighted", "adaptive") if "policies" in args.scenarios else ():
                shares = run_messages(sim, client, policy=policy, warmup=args.warmup, messages=args.messages)
                lines.append(f"{policy:>9}: delivered {shares.line()} (after {args.warmup} per operator)")
            if "flip" in args.scenarios:
                first, then, windows = run_flip(sim, client, warmup=args.warmup, after=args.messages)
                lines.append(f"flip, adaptive: first 300 after the flip {first.line()}; the next {then.line()}")
                for index, window in enumerate(windows):
                    lines.append(f"  messages {index * 50 + 1}-{index * 50 + 50} after the flip: {window.line()}")
            for rescue in (False, True) if "verify" in args.scenarios else ():
                shares = run_verifications(sim, client, rescue=rescue, warmup=args.warmup, count=args.verifications)
                lines.append(f"verifications, adaptive, rescue {'on' if rescue else 'off'}: approved {shares.line()}")
    finally:
        sim.stop()
    print("\n".join(lines))
    print(f"({time.monotonic() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
