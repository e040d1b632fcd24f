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
