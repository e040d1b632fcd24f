"""Rate limits and SMS-pumping defences: which countries we send to, and how many sends each caller may cause.

Every send (``/sendsms/`` and each verification code sent) is counted against four scopes: the phone number,
its number range (country code + first 7 national digits: pumping fraud walks through a range), the API client
and the client's IP address. Each scope has one or more fixed windows ("3 per 600 s"); the defaults are in
``SMS_GATEWAY["RATE_LIMITS"]`` and the admin's ``RateLimit`` rows replace them per scope.

Counters live in Django's cache so every process shares them (Redis in production: ``incr`` is atomic; the
database cache of the embedded set-up is read-then-write, good enough for one machine). A refused send is never
counted: each window is incremented, and if any window is over its limit every increment is rolled back. Two
racing requests may both be refused near the limit, never both admitted past it (on Redis).

Fixed windows let a caller spend a window's allowance at its end and the next one at the start of the next;
the longer windows (e.g. 10 per day per phone) bound that.
"""

from __future__ import annotations

import contextlib
import hashlib
import ipaddress
import logging
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import redis
from django.core.cache import cache, caches

from clients.models import Client
from common.api import INVALID_PHONE_MESSAGE
from common.cache import RedisCache
from common.conf import gateway_settings
from common.exceptions import ApplicationError, RateLimited
from common.memo import Memo
from common.phones import e164_parts
from messaging.models import AllowedRegion, RateLimit

logger = logging.getLogger(__name__)
Scope = RateLimit.Scope
_POLICY_KEY = "limits:policy:v1"
_REFUSALS = {
    Scope.PHONE: "Too many messages to this number; retry after {} seconds.",
    Scope.PREFIX: "Too many messages to numbers in this range; retry after {} seconds.",
    Scope.CLIENT: "Too many messages from this client; retry after {} seconds.",
    Scope.IP: "Too many messages from this address; retry after {} seconds.",
}


@dataclass(frozen=True)
class Window:
    limit: int
    seconds: int


@dataclass(frozen=True)
class Policy:
    windows: dict[str, tuple[Window, ...]]
    regions: frozenset[str]


def _policy_data() -> dict[str, Any]:
    gateway = gateway_settings()
    windows = {scope: [spec.split("/") for spec in gateway["RATE_LIMITS"].get(scope, [])] for scope in Scope.values}
    overridden: dict[str, list[Any]] = {}
    for row in RateLimit.objects.all():
        overridden.setdefault(row.scope, [])
        if row.enabled:
            overridden[row.scope].append((row.limit, row.period_seconds))
    windows.update(overridden)
    region_rows = list(AllowedRegion.objects.values_list("region", "enabled"))
    regions = [region for region, enabled in region_rows if enabled] if region_rows else gateway["ALLOWED_REGIONS"]
    return {"windows": windows, "regions": [region.upper() for region in regions]}


# On top of the shared cache, each process keeps the policy this long: one cache round trip less per
# request. An admin edit clears this process's copy at once (limits_policy_reset), the others' on expiry.
POLICY_MEMO_SECONDS = 2.0
_policies: Memo[None, Policy] = Memo(POLICY_MEMO_SECONDS)


def limits_policy() -> Policy:
    """The limits and allowlist in force: admin rows over settings defaults, cached briefly for every process."""
    memoised = _policies.get(None)
    if memoised is not None:
        return memoised
    try:
        data = cache.get(_POLICY_KEY)
    except Exception:  # cache down: read the database, which is the source anyway
        data = None
    if data is None:
        data = _policy_data()
        # Plain data in the cache, so a cached policy survives a deploy that changes these classes.
        with contextlib.suppress(Exception):
            cache.set(_POLICY_KEY, data, gateway_settings()["LIMITS_CACHE_SECONDS"])
    policy = Policy(
        windows={
            scope: tuple(Window(limit=int(limit), seconds=int(seconds)) for limit, seconds in pairs)
            for scope, pairs in data["windows"].items()
        },
        regions=frozenset(data["regions"]),
    )
    return _policies.put(None, policy)


def limits_policy_reset() -> None:
    """Forget the cached policy, so an operator's edit applies at once."""
    _policies.clear()
    cache.delete(_POLICY_KEY)


def client_ip(*, meta: Mapping[str, Any]) -> str:
    """The caller's address as rate limits count it: IPv6 callers per /64, the block one subscriber usually gets."""
    remote = client_address(meta=meta)
    try:
        address = ipaddress.ip_address(remote)
    except ValueError:
        return remote or "unknown"
    if address.version == 6:
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


def client_address(*, meta: Mapping[str, Any]) -> str:
    """The caller's address: REMOTE_ADDR, or X-Forwarded-For as seen by the outermost trusted proxy."""
    remote = str(meta.get("REMOTE_ADDR") or "")
    proxies = gateway_settings()["TRUSTED_PROXY_COUNT"]
    if proxies > 0:
        # Each trusted proxy appends the address it saw; anything left of those was written by the caller.
        hops = [hop.strip() for hop in str(meta.get("HTTP_X_FORWARDED_FOR") or "").split(",") if hop.strip()]
        if len(hops) >= proxies:
            remote = hops[-proxies]
    return remote


def invalid_phone_error() -> ApplicationError:
    """The one refusal for any number we will not send to, identical to the phone field's own."""
    detail = {"code": "invalid_phone", "message": INVALID_PHONE_MESSAGE}
    return ApplicationError(f"phone: {INVALID_PHONE_MESSAGE}", code="invalid_phone", fields={"phone": [detail]})


def phone_region_check(*, phone: str, policy: Policy | None = None) -> None:
    """Refuse an E.164 number outside the country allowlist."""
    region, _, _ = e164_parts(phone)
    if region not in (policy or limits_policy()).regions:
        raise invalid_phone_error()


def number_prefix(phone: str) -> str:
    _, country_code, national_number = e164_parts(phone)
    return f"{country_code}-{national_number[:7]}"


@dataclass(frozen=True)
class _Counter:
    key: str
    ttl: int
    limit: int
    retry_after: int
    scope: str


def sends_consume(*, subjects: Mapping[str, str], now: float | None = None, policy: Policy | None = None) -> None:
    """Count one send for every ``scope -> identity`` in ``subjects``, or count nothing and raise RateLimited."""
    now = time.time() if now is None else now
    policy = policy or limits_policy()
    refusals: list[tuple[int, str]] = []
    counters: list[_Counter] = []
    for scope, identity in subjects.items():
        digest = _digest(scope, identity)
        for window in policy.windows.get(scope, ()):
            index = int(now // window.seconds)
            retry_after = math.ceil((index + 1) * window.seconds - now)
            if window.limit == 0:
                refusals.append((retry_after, scope))
                continue
            key = _key(digest, window.seconds, index)
            counters.append(_Counter(key, window.seconds + 60, window.limit, retry_after, scope))
    if refusals:  # a window that allows nothing: count nothing
        _refuse(refusals)
    counts = _increment(counters)
    _refuse([(c.retry_after, c.scope) for c, count in zip(counters, counts, strict=True) if count > c.limit])


def _digest(scope: str, identity: str) -> str:
    # Hashed, so the cache holds no phone numbers or addresses.
    return hashlib.sha256(f"{scope}:{identity}".encode()).hexdigest()[:24]


def _key(digest: str, seconds: int, index: int) -> str:
    return f"rl:{digest}:{seconds}:{index}"


def counter_keys(*, scope: str, identity: str, now: float | None = None, policy: Policy | None = None) -> list[str]:
    """The cache keys counting ``identity``'s sends in ``scope``: each window's current one and the one before
    (a counter outlives its window by a minute)."""
    now = time.time() if now is None else now
    digest = _digest(scope, identity)
    keys = []
    for window in (policy or limits_policy()).windows.get(scope, ()):
        index = int(now // window.seconds)
        keys += [_key(digest, window.seconds, index - 1), _key(digest, window.seconds, index)]
    return keys


def phone_counters_forget(*, phone: str) -> int:
    """Delete every counter of one E.164 number's sends (erasure of a person's data); return how many keys."""
    keys = counter_keys(scope=Scope.PHONE, identity=phone)
    cache.delete_many(keys)
    return len(keys)


def _refuse(refusals: list[tuple[int, str]]) -> None:
    """Raise RateLimited for the refusal that lasts longest, if there is any."""
    if refusals:
        retry_after, scope = max(refusals)
        raise RateLimited(_REFUSALS[Scope(scope)].format(retry_after), retry_after=retry_after)


# On Redis every counter is counted, checked and (when one is over) given back in one script: one
# round trip, and two racing requests can never both pass a limit or both be refused because of it.
_CONSUME_LUA = """
local counts, over = {}, false
for i, key in ipairs(KEYS) do
  counts[i] = redis.call('INCR', key)
  if counts[i] == 1 then redis.call('EXPIRE', key, ARGV[2 * i - 1]) end
  if counts[i] > tonumber(ARGV[2 * i]) then over = true end
end
if over then
  for _, key in ipairs(KEYS) do redis.call('DECR', key) end
end
return counts
"""
_scripts: dict[int, Any] = {}


def _increment(counters: list[_Counter]) -> list[int]:
    """Count every counter; if any is then over its limit, count none (give every increment back)."""
    backend = caches["default"]  # ``cache`` itself is a proxy, never an instance of the backend class
    if isinstance(backend, RedisCache):  # one round trip for all counters
        client = backend.raw_client()
        script = _scripts.get(id(client))
        if script is None:
            script = _scripts[id(client)] = client.register_script(_CONSUME_LUA)
        # make_key, not make_and_validate_key: these keys are ours and plain ASCII, and the check per key
        # (memcached's rules) cost as much as the rest of the counting.
        keys = [backend.make_key(counter.key) for counter in counters]
        args = [value for counter in counters for value in (counter.ttl, counter.limit)]
        return [int(value) for value in _evalsha(client, script, keys, args)]
    counts = []
    for counter in counters:
        cache.add(counter.key, 0, timeout=counter.ttl)
        try:
            counts.append(cache.incr(counter.key))
        except ValueError:  # evicted between add and incr
            cache.set(counter.key, 1, timeout=counter.ttl)
            counts.append(1)
    if any(count > counter.limit for counter, count in zip(counters, counts, strict=True)):
        for counter in counters:
            with contextlib.suppress(ValueError):  # expired meanwhile: nothing to give back
                cache.decr(counter.key)
    return counts


def _evalsha(client: Any, script: Any, keys: list[str], args: list[int]) -> list[Any]:
    """``script(keys=keys, args=args)`` on one pooled connection, without redis-py's per-command layers
    (its retry wrapper, option parsing and response callbacks were a third of the call's CPU, and this
    runs on every accepted request). A flushed script (NOSCRIPT) or a dropped connection is handed to
    the regular call, which reloads the script and reconnects. A timeout is not: Redis is there but
    slow or frozen, and three more tries would only hold the answer (the caller admits uncounted).
    """
    pool = client.connection_pool
    connection = None
    try:
        connection = pool.get_connection()
        connection.send_command("EVALSHA", script.sha, len(keys), *keys, *args)
        return list(connection.read_response())
    except redis.RedisError as exc:
        if connection is not None:
            connection.disconnect()  # a reply may still be on its way: the socket cannot be reused
        if isinstance(exc, redis.TimeoutError):
            raise
    finally:
        if connection is not None:
            pool.release(connection)
    return list(script(keys=keys, args=args))


def send_admit(*, client: Client, phone: str, ip: str) -> None:
    """Refuse a number outside the allowlist, then count one send in every limit or raise RateLimited.

    When the cache holding the counters is unreachable, sends are admitted uncounted: an accepted
    request must not depend on Redis being up (the broker outbox does not either).
    """
    policy = limits_policy()
    phone_region_check(phone=phone, policy=policy)
    try:
        sends_consume(
            subjects={
                Scope.PHONE: phone,
                Scope.PREFIX: number_prefix(phone),
                Scope.CLIENT: str(client.pk),
                Scope.IP: ip,
            },
            policy=policy,
        )
    except RateLimited:
        raise
    except Exception as exc:
        logger.warning("rate-limit store unavailable (%s); admitting uncounted", type(exc).__name__)
