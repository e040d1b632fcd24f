"""The routing policies against the simulator's per-operator delivery failures, smaller than bench/routing.py:
SMS.IR leaves 40 % of Irancell messages undelivered, Kavenegar 30 % of MCI messages. Each first engine not chosen
by a score is drawn at random; the seed makes a run repeatable."""

from __future__ import annotations

import random

import pytest

from bench.routing import OPERATORS, run_flip, run_messages, run_verifications, scenario_settings

pytestmark = [pytest.mark.django_db, pytest.mark.integration]
MCI, IRANCELL = OPERATORS


@pytest.fixture(autouse=True)
def repeatable(sim):
    random.seed(20261202)
    with scenario_settings():
        yield


def test_adaptive_delivers_what_priority_loses_to_the_operator_its_first_engine_fails(sim, api_client_key):
    client = api_client_key[0]
    priority = run_messages(sim, client, policy="priority", warmup=50, messages=200)
    adaptive = run_messages(sim, client, policy="adaptive", warmup=100, messages=300)

    # Priority sends everything through SMS.IR first: all of MCI arrives, 60 % of Irancell.
    assert (priority.share(MCI), priority.share(IRANCELL)) == (1.0, 0.6)
    # Adaptive after its warm-up: the exploration share (5 %) is the only traffic to the failing engine.
    assert adaptive.share(MCI) >= 0.96 and adaptive.share(IRANCELL) >= 0.96, adaptive.line()


def test_adaptive_follows_the_failures_when_they_change_sides(sim, api_client_key):
    first, then, _ = run_flip(sim, api_client_key[0], warmup=100, after=300)

    assert then.share(MCI) >= 0.96 and then.share(IRANCELL) >= 0.96, f"{first.line()} / {then.line()}"


def test_rescue_gets_nearly_every_code_approved(sim, api_client_key):
    without = run_verifications(sim, api_client_key[0], rescue=False, warmup=100, count=100)
    rescued = run_verifications(sim, api_client_key[0], rescue=True, warmup=100, count=100)

    assert min(rescued.share(MCI), rescued.share(IRANCELL)) >= 0.995, rescued.line()
    assert min(without.share(MCI), without.share(IRANCELL)) < 1.0, without.line()  # what rescue is there for
