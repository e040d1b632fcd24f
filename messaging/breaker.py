"""A circuit breaker per engine, shared by every worker process through Django's cache.

Closed: traffic flows and consecutive retryable failures are counted. After ``threshold`` of them
it opens for ``cooldown`` seconds (the engine is skipped). Then exactly one probe is let through,
by whichever process wins an atomic ``cache.add``; its result closes or re-opens the breaker.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import ParamSpec, TypeVar

from django.core.cache import cache

from common.conf import gateway_settings
from common.memo import Memo

logger = logging.getLogger(__name__)
P = ParamSpec("P")
R = TypeVar("R")


@dataclass(frozen=True)
class BreakerState:
    state: str  # "closed", "open" or "half-open"
    failures: int
    open_until: float | None


def _keys(engine_id: int) -> tuple[str, str, str]:
    prefix = f"breaker:{engine_id}:"
    return prefix + "failures", prefix + "open_until", prefix + "probe"


def _config() -> tuple[int, float]:
    gateway = gateway_settings()
    return int(gateway["BREAKER_THRESHOLD"]), float(gateway["BREAKER_COOLDOWN_SECONDS"])


def _fail_open(function: Callable[P, R]) -> Callable[P, R | None]:
    """A breaker whose store is unreachable must not stop delivery: it lets traffic through."""

    @functools.wraps(function)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R | None:
        try:
            return function(*args, **kwargs)
        except Exception as exc:
            logger.warning("circuit breaker store unavailable (%s); failing open", type(exc).__name__)
            return None

    return wrapper


CLOSED, OPEN, PROBE = "closed", "open", "probe"

# A pump records its engines' health after every batch of results, many times a second at fast
# providers, and a success almost always clears keys that are already clear (that cache round trip was
# 7 % of a pump's CPU at 0 ms). So after writing a success, a process skips further successes for this
# long, unless it records a failure or sees the breaker open meanwhile. What that gives up: a failure
# elsewhere within the window is not reset by this process's success, so failures interleaved with
# successes may trip the breaker a little sooner.
HEALTHY_QUIET_SECONDS = 0.25
_quiet: Memo[int, bool] = Memo(HEALTHY_QUIET_SECONDS)


def breaker_check(engine_id: int) -> str:
    """``closed`` (send), ``open`` (skip) or ``probe`` (send this one call: the one probe after a cool-down).

    A store that cannot be reached counts as closed.
    """
    return _check(engine_id) or CLOSED


@_fail_open
def _check(engine_id: int) -> str:
    _, open_key, probe_key = _keys(engine_id)
    open_until = cache.get(open_key)
    if open_until is None:
        return CLOSED
    _quiet.forget(engine_id)
    if time.time() < float(open_until):
        return OPEN
    # Half-open: one probe across all processes; the others keep skipping until it reports.
    _, cooldown = _config()
    if not cache.add(probe_key, 1, timeout=max(1, int(cooldown))):
        return OPEN
    logger.warning("breaker half-open: engine %s gets one probe", engine_id, extra={"engine_id": engine_id})
    return PROBE


@_fail_open
def breaker_record(engine_id: int, *, healthy: bool) -> None:
    failures_key, open_key, probe_key = _keys(engine_id)
    threshold, cooldown = _config()
    if healthy:
        if _quiet.get(engine_id):
            return
        # Only the process whose delete found the breaker open says it closed: one line per change.
        if cache.delete(open_key):
            logger.warning("breaker closed: engine %s is healthy again", engine_id, extra={"engine_id": engine_id})
        cache.delete_many([failures_key, probe_key])
        _quiet.put(engine_id, True)
        return
    _quiet.forget(engine_id)
    was_probing = cache.get(open_key) is not None
    cache.add(failures_key, 0, timeout=None)
    try:
        failures = cache.incr(failures_key)
    except ValueError:  # evicted between add and incr
        cache.set(failures_key, 1, timeout=None)
        failures = 1
    if was_probing or failures >= threshold:
        # Timeout is twice the cool-down: the key must outlive the open period to be read as half-open.
        timeout = int(cooldown * 2) + 60
        if was_probing:
            cache.set(open_key, time.time() + cooldown, timeout=timeout)
            # Only the process that removed the probe's claim saw the probe fail; later failures extend quietly.
            if cache.delete(probe_key):
                logger.warning(
                    "breaker re-opened: engine %s failed its probe", engine_id, extra={"engine_id": engine_id}
                )
        elif cache.add(open_key, time.time() + cooldown, timeout=timeout):
            cache.delete(probe_key)
            logger.warning(
                "breaker opened: engine %s after %s consecutive failures for %ss",
                engine_id,
                failures,
                cooldown,
                extra={"engine_id": engine_id},
            )


def breaker_state(engine_id: int) -> BreakerState:
    failures_key, open_key, _ = _keys(engine_id)
    failures = int(cache.get(failures_key) or 0)
    open_until = cache.get(open_key)
    if open_until is None:
        return BreakerState("closed", failures, None)
    state = "open" if time.time() < float(open_until) else "half-open"
    return BreakerState(state, failures, float(open_until))


def breaker_reset(engine_id: int) -> None:
    _quiet.forget(engine_id)
    cache.delete_many(list(_keys(engine_id)))
