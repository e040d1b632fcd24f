"""The breaker's store traffic: a run of successes writes once per quiet window, never at a failure's expense."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from messaging import breaker

pytestmark = pytest.mark.django_db

ENGINE = 7


def failures() -> int:
    return breaker.breaker_state(ENGINE).failures


def test_a_success_after_this_process_recorded_a_failure_resets_the_count_at_once(settings):
    settings.SMS_GATEWAY = {**settings.SMS_GATEWAY, "BREAKER_THRESHOLD": 3}
    breaker.breaker_record(ENGINE, healthy=True)
    breaker.breaker_record(ENGINE, healthy=False)
    breaker.breaker_record(ENGINE, healthy=False)
    assert failures() == 2

    breaker.breaker_record(ENGINE, healthy=True)  # inside the quiet window, but after a failure
    assert failures() == 0


def test_successes_inside_the_quiet_window_do_not_touch_the_store():
    breaker.breaker_record(ENGINE, healthy=True)
    failures_key, _, _ = breaker._keys(ENGINE)
    cache.set(failures_key, 2, timeout=None)  # another worker's failures

    breaker.breaker_record(ENGINE, healthy=True)
    assert failures() == 2

    breaker._quiet.clear()  # the window has passed
    breaker.breaker_record(ENGINE, healthy=True)
    assert failures() == 0


def test_a_probe_that_succeeds_closes_the_breaker_even_inside_the_quiet_window(settings):
    settings.SMS_GATEWAY = {**settings.SMS_GATEWAY, "BREAKER_THRESHOLD": 1, "BREAKER_COOLDOWN_SECONDS": 30}
    breaker.breaker_record(ENGINE, healthy=True)
    _, open_key, _ = breaker._keys(ENGINE)
    cache.set(open_key, 0.0, timeout=60)  # opened elsewhere, cool-down already over

    assert breaker.breaker_check(ENGINE) == breaker.PROBE
    breaker.breaker_record(ENGINE, healthy=True)
    assert breaker.breaker_state(ENGINE).state == "closed"
    assert breaker.breaker_check(ENGINE) == breaker.CLOSED


def test_each_change_of_state_is_logged_once(settings, caplog, time_machine):
    settings.SMS_GATEWAY = {**settings.SMS_GATEWAY, "BREAKER_THRESHOLD": 3, "BREAKER_COOLDOWN_SECONDS": 30.0}
    time_machine.move_to("2026-01-01 12:00:00", tick=False)
    caplog.set_level("WARNING", logger="messaging.breaker")

    def lines() -> list[str]:
        return [record.getMessage().split(":")[0] for record in caplog.records]

    for _ in range(5):  # the third opens it; later failures (calls already in flight) extend it quietly
        breaker.breaker_record(ENGINE, healthy=False)
    assert lines() == ["breaker opened"]

    time_machine.shift(31)
    assert breaker.breaker_check(ENGINE) == breaker.PROBE
    assert breaker.breaker_check(ENGINE) == breaker.OPEN  # the probe is taken: no second line
    breaker.breaker_record(ENGINE, healthy=False)  # the probe failed
    breaker.breaker_record(ENGINE, healthy=False)
    assert lines() == ["breaker opened", "breaker half-open", "breaker re-opened"]

    time_machine.shift(31)
    assert breaker.breaker_check(ENGINE) == breaker.PROBE
    breaker.breaker_record(ENGINE, healthy=True)
    breaker._quiet.clear()
    breaker.breaker_record(ENGINE, healthy=True)  # already closed: nothing to say
    assert lines() == [
        "breaker opened",
        "breaker half-open",
        "breaker re-opened",
        "breaker half-open",
        "breaker closed",
    ]


def test_the_shipped_defaults_open_the_breaker_at_the_fifth_failure_for_thirty_seconds():
    import json
    import os
    import subprocess
    import sys

    import time_machine

    from tests.processes import ROOT

    # The defaults as settings.py ships them: read by a process whose environment sets none of them.
    clean = {key: value for key, value in os.environ.items() if not key.startswith("SMS_BREAKER_")}
    shipped = subprocess.run(
        [
            sys.executable,
            "-c",
            "import json; from django.conf import settings; g = settings.SMS_GATEWAY; "
            "print(json.dumps([g['BREAKER_THRESHOLD'], g['BREAKER_COOLDOWN_SECONDS']]))",
        ],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "smsproject.settings", "DEBUG": "1"},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    threshold, cooldown = json.loads(shipped.stdout)
    assert (threshold, cooldown) == (5, 30.0)

    from django.test import override_settings

    from common.conf import gateway_settings

    with (
        override_settings(
            SMS_GATEWAY={**gateway_settings(), "BREAKER_THRESHOLD": threshold, "BREAKER_COOLDOWN_SECONDS": cooldown}
        ),
        time_machine.travel(1_800_000_000, tick=False) as clock,
    ):
        for _ in range(4):
            breaker.breaker_record(ENGINE, healthy=False)
        assert breaker.breaker_check(ENGINE) == breaker.CLOSED
        breaker.breaker_record(ENGINE, healthy=False)  # the fifth
        assert breaker.breaker_check(ENGINE) == breaker.OPEN
        clock.shift(29.9)
        assert breaker.breaker_check(ENGINE) == breaker.OPEN
        clock.shift(0.1)
        assert breaker.breaker_check(ENGINE) == breaker.PROBE  # thirty seconds on: the one probe
