"""Rate limits and the country allowlist on /sendsms/ (messaging.services.limits)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import pytest
import redis
import time_machine
from django.test import override_settings
from rest_framework.test import APIClient

from clients.services import client_create
from common.conf import gateway_settings
from common.exceptions import RateLimited
from messaging.models import AllowedRegion, RateLimit, VerifyRequests
from messaging.services.limits import client_ip, limits_policy_reset, sends_consume
from messaging.tests.factories import make_template
from tests.faults.stack import RedisServer

# 10:00:00 sits on a boundary of every default window, so Retry-After is exact.
START = datetime(2026, 11, 27, 10, 0, 0, tzinfo=UTC)
BODY = {"template_id": 1, "token_value": {"code": "123456"}}


@pytest.fixture
def clock() -> Any:
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


@pytest.fixture(autouse=True)
def template(db: Any) -> Any:
    return make_template(template_id=1, token_names=["code"])


@contextmanager
def gateway(**values: Any) -> Iterator[None]:
    """Override SMS_GATEWAY keys; the cached policy is dropped on the way in and out."""
    limits_policy_reset()
    with override_settings(SMS_GATEWAY={**gateway_settings(), **values}):
        yield
    limits_policy_reset()


def limits(**scopes: list[str]) -> Any:
    """Settings whose limits are ``scopes`` and nothing else, so a test sees one limit at a time."""
    return gateway(RATE_LIMITS={"phone": [], "prefix": [], "client": [], "ip": [], **scopes})


def send(api: APIClient, phone: str = "09121234567", **extra: Any) -> Any:
    return api.post("/sendsms/", {**BODY, "phone": phone}, format="json", **extra)


def assert_limited(response: Any, retry_after: int, message: str) -> None:
    assert response.status_code == 429, response.content
    assert response["Retry-After"] == str(retry_after)
    assert response.json() == {
        "error": {"code": "rate_limited", "message": f"{message}; retry after {retry_after} seconds.", "fields": {}}
    }


def test_default_phone_limit_is_three_sends_per_ten_minutes(api, clock):
    assert [send(api).status_code for _ in range(3)] == [202, 202, 202]
    clock.shift(100)
    assert_limited(send(api), 500, "Too many messages to this number")
    assert send(api, "09121234568").status_code == 202  # another number is not affected
    clock.shift(500)
    assert send(api).status_code == 202
    assert VerifyRequests.objects.count() == 5


def test_a_refused_send_is_not_counted(api, clock):
    with limits(phone=["2/600"]):
        assert [send(api).status_code for _ in range(5)] == [202, 202, 429, 429, 429]
        RateLimit.objects.create(scope="phone", limit=3, period_seconds=600)
        limits_policy_reset()
        # Had the three refusals counted, the counter would be at 5 and this would be refused too.
        assert send(api).status_code == 202


def test_a_send_refused_by_one_scope_is_counted_by_none(api, clock):
    with limits(phone=["1/600"], client=["1/600"]):
        assert send(api).status_code == 202
        assert send(api, "09121234568").status_code == 429  # client limit
    with limits(phone=["1/600"]):
        assert send(api, "09121234568").status_code == 202  # its phone counter was rolled back


def test_prefix_limit_counts_numbers_sharing_the_first_seven_digits(api, clock):
    with limits(prefix=["2/3600"]):
        assert send(api, "09121234000").status_code == 202
        assert send(api, "09121234999").status_code == 202
        assert_limited(send(api, "09121234555"), 3600, "Too many messages to numbers in this range")
        assert send(api, "09121235000").status_code == 202


def test_client_limit_is_per_client(api, clock):
    other = APIClient()
    other.credentials(HTTP_AUTHORIZATION=f"Token {client_create(name='other')[1]}")
    with limits(client=["2/60"]):
        assert send(api, "09121111111").status_code == 202
        assert send(api, "09122222222").status_code == 202
        clock.shift(15)
        assert_limited(send(api, "09123333333"), 45, "Too many messages from this client")
        assert send(other, "09123333333").status_code == 202


def test_ip_limit_uses_remote_addr_and_ignores_forwarded_for_by_default(api, clock):
    with limits(ip=["1/60"]):
        assert send(api, "09121111111", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="1.1.1.1").status_code == 202
        refused = send(api, "09122222222", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="2.2.2.2")
        assert_limited(refused, 60, "Too many messages from this address")
        assert send(api, "09122222222", REMOTE_ADDR="10.0.0.2").status_code == 202


def test_ip_limit_honours_forwarded_for_behind_a_trusted_proxy(api, clock):
    with limits(ip=["1/60"]), gateway(TRUSTED_PROXY_COUNT=1):
        proxy = {"REMOTE_ADDR": "10.0.0.1"}
        assert send(api, "09121111111", HTTP_X_FORWARDED_FOR="9.9.9.9, 1.1.1.1", **proxy).status_code == 202
        # The caller can write anything left of what our proxy appended; only the proxy's entry counts.
        assert send(api, "09122222222", HTTP_X_FORWARDED_FOR="8.8.8.8, 1.1.1.1", **proxy).status_code == 429
        assert send(api, "09122222222", HTTP_X_FORWARDED_FOR="2.2.2.2", **proxy).status_code == 202


def test_client_ip_groups_ipv6_callers_per_64():
    assert client_ip(meta={"REMOTE_ADDR": "2001:db8:1:2:aaaa::1"}) == "2001:db8:1:2::/64"
    assert client_ip(meta={"REMOTE_ADDR": "192.0.2.7"}) == "192.0.2.7"


def test_admin_rows_replace_a_scopes_defaults(api, clock):
    RateLimit.objects.create(scope="phone", limit=1, period_seconds=60)
    assert send(api).status_code == 202
    assert_limited(send(api), 60, "Too many messages to this number")


def test_one_disabled_row_switches_a_scope_off(api, clock):
    RateLimit.objects.create(scope="phone", limit=1, period_seconds=600, enabled=False)
    assert [send(api).status_code for _ in range(5)] == [202] * 5


def test_the_policy_is_cached_until_reset(api, clock):
    assert send(api).status_code == 202  # caches the default policy
    RateLimit.objects.create(scope="phone", limit=2, period_seconds=600)
    assert [send(api).status_code, send(api).status_code] == [202, 202]  # the default 3 per 600 s still applies
    limits_policy_reset()
    assert send(api).status_code == 429


def test_a_zero_limit_refuses_every_send(db, clock):
    with limits(client=["0/86400"]), pytest.raises(RateLimited) as refused:
        sends_consume(subjects={"client": "1"})
    assert refused.value.retry_after == 50400


# --- The country allowlist ----------------------------------------------------------------------------


MESSAGE = "Enter a valid mobile number, e.g. 09121234567."


def assert_refused_number(response: Any) -> None:
    # Every refusal looks the same, so the API never says whether the number exists or why it was refused.
    assert response.status_code == 400, response.content
    assert response.json() == {
        "error": {
            "code": "invalid_phone",
            "message": f"phone: {MESSAGE}",
            "fields": {
                "phone": [{"code": "invalid_phone", "message": "Enter a valid mobile number, e.g. 09121234567."}]
            },
        }
    }


@pytest.mark.parametrize("phone", ["+971501234567", "+14155552671", "02112345678", "0912"])
def test_foreign_and_non_mobile_numbers_get_one_identical_refusal(api, phone):
    assert_refused_number(send(api, phone))
    assert not VerifyRequests.objects.exists()


def test_allowlist_rows_replace_the_setting(api):
    AllowedRegion.objects.create(region="AE")
    AllowedRegion.objects.create(region="IR", enabled=False)
    limits_policy_reset()
    assert send(api, "+971501234567").status_code == 202
    assert_refused_number(send(api, "09121234567"))


def test_allowlist_setting_is_the_default(api):
    with gateway(ALLOWED_REGIONS=["IR", "AE"]):
        assert send(api, "+971501234567").status_code == 202


def test_sends_are_admitted_uncounted_when_the_counter_store_is_down(monkeypatch, api, clock):
    from messaging.services import limits

    def down(*args, **kwargs):
        raise ConnectionError("cache unreachable")

    monkeypatch.setattr(limits, "_increment", down)
    answers = [send(api).status_code for _ in range(10)]  # far over the 3-per-10-minutes phone limit

    assert answers == [202] * 10
    assert VerifyRequests.objects.filter(phone="+989121234567").count() == 10
    monkeypatch.undo()  # the store is back: none of the ten was counted, so three more fit
    assert [send(api).status_code for _ in range(4)] == [202, 202, 202, 429]


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """A redis-server of this run's own on a free port: the Redis paths are tested in every set-up."""
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def redis_cache(redis_server: RedisServer) -> Iterator[Any]:
    """The cache on the private Redis, configured as settings.py configures a Redis ``CACHE_URL``."""
    from django.core.cache import caches

    location = redis_server.url(0)
    with override_settings(
        CACHES={
            "default": {
                "BACKEND": "common.cache.RedisCache",
                "LOCATION": location,
                "OPTIONS": {"socket_timeout": 0.25, "socket_connect_timeout": 0.25},
            }
        }
    ):
        backend = caches["default"]
        backend.clear()
        limits_policy_reset()
        yield backend
    limits_policy_reset()


@pytest.fixture
def api_cache() -> Iterator[Any]:
    """A cache without Redis's one-call path: counting goes through Django's cache API."""
    from django.core.cache import caches

    with override_settings(CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}):
        limits_policy_reset()
        yield caches["default"]
    limits_policy_reset()


@pytest.mark.servers  # a redis-server of the run's own, in every set-up
def test_counting_a_send_takes_one_redis_round_trip(monkeypatch, api_client_key, redis_cache):
    from common.cache import RedisCache
    from messaging.services import limits

    assert isinstance(redis_cache, RedisCache)
    calls: list[str] = []
    client = redis_cache.raw_client()
    # The first call loads the script into Redis (a second round trip, once per Redis restart).
    limits.send_admit(client=api_client_key[0], phone="+989121230000", ip="127.0.0.2")
    connection_class = client.connection_pool.connection_class
    real_send = connection_class.send_command
    monkeypatch.setattr(
        connection_class,
        "send_command",
        lambda self, *a, **kw: calls.append(str(a[0]).lower()) or real_send(self, *a, **kw),
    )
    monkeypatch.setattr(client, "pipeline", lambda **kw: calls.append("pipeline"))
    monkeypatch.setattr(redis_cache, "incr", lambda *a, **kw: calls.append("incr"))

    limits.send_admit(client=api_client_key[0], phone="+989121234567", ip="127.0.0.1")
    assert calls == ["evalsha"]


def test_counting_a_send_elsewhere_takes_one_increment_per_window(monkeypatch, api_client_key, api_cache):
    from messaging.services import limits

    calls: list[str] = []
    real_incr = api_cache.incr
    monkeypatch.setattr(api_cache, "incr", lambda *a, **kw: calls.append("incr") or real_incr(*a, **kw))

    limits.send_admit(client=api_client_key[0], phone="+989121234567", ip="127.0.0.1")
    assert calls == ["incr"] * sum(len(windows) for windows in limits.limits_policy().windows.values())


@pytest.mark.servers  # a redis-server of the run's own, in every set-up
@pytest.mark.parametrize("trouble", ["script_flushed", "connection_killed"])
def test_counting_survives_a_flushed_script_and_a_dropped_connection(api_client_key, trouble, redis_cache):
    """The one-call path on Redis hands a failure to redis-py's regular call, which reloads and reconnects."""
    from messaging.services import limits

    client_row = api_client_key[0]
    limits.send_admit(client=client_row, phone="+989121230001", ip="127.0.0.3")  # loads the script, opens a socket
    client = redis_cache.raw_client()
    if trouble == "script_flushed":
        client.script_flush()
        assert client.script_exists(limits._scripts[id(client)].sha) == [False]
    else:  # the server drops the connection the limiter holds in its pool
        pool = client.connection_pool
        connection = pool.get_connection()
        connection.send_command("CLIENT", "ID")
        held = connection.read_response()
        pool.release(connection)
        other = redis.Redis(connection_pool=redis.ConnectionPool(**pool.connection_kwargs))
        assert other.client_kill_filter(_id=held) == 1
        other.close()
    policy = limits.limits_policy()
    phone_limit = min(window.limit for window in policy.windows[limits.Scope.PHONE])
    for _ in range(phone_limit - 1):
        limits.send_admit(client=client_row, phone="+989121230001", ip="127.0.0.3")
    # Every send was counted, the first and those after the trouble: the next one is over the limit.
    with pytest.raises(RateLimited):
        limits.send_admit(client=client_row, phone="+989121230001", ip="127.0.0.3")


@pytest.mark.servers  # a redis-server of the run's own, in every set-up
def test_a_redis_timeout_admits_uncounted_at_once(monkeypatch, api_client_key, redis_cache):
    """A counter store that times out is not asked again (each try would hold the answer once more)."""
    from messaging.services import limits

    calls: list[str] = []
    client = redis_cache.raw_client()
    limits.send_admit(client=api_client_key[0], phone="+989121230002", ip="127.0.0.4")  # loads the script

    def frozen(self: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append("read")
        raise redis.TimeoutError("Timeout reading from socket")

    monkeypatch.setattr(client.connection_pool.connection_class, "read_response", frozen)
    for _ in range(10):  # far over the phone limit: admitted, uncounted
        limits.send_admit(client=api_client_key[0], phone="+989121230002", ip="127.0.0.4")
    monkeypatch.undo()  # Redis answers again before the fixture's clean-up talks to it
    assert calls == ["read"] * 10  # one try per send, no retry


def test_a_timeout_elsewhere_admits_uncounted_at_once(monkeypatch, api_client_key, api_cache):
    from messaging.services import limits

    calls: list[str] = []

    def frozen_incr(*args: Any, **kwargs: Any) -> Any:
        calls.append("read")
        raise TimeoutError("cache timed out")

    monkeypatch.setattr(api_cache, "incr", frozen_incr)
    for _ in range(10):  # far over the phone limit: admitted, uncounted
        limits.send_admit(client=api_client_key[0], phone="+989121230002", ip="127.0.0.4")
    assert calls == ["read"] * 10
