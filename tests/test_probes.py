"""/healthz and /readyz: what each answers, that neither needs a key or a known host, and the time bound."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pytest
import time_machine
from django.test import Client, override_settings

from smsproject.heartbeats import BEAT, WORKER, heartbeat_record
from tests.processes import Beat, free_port, wait_for

pytestmark = pytest.mark.django_db(transaction=True)
CHECKS = {"database", "cache", "broker", "worker", "beat"}


def probe(path: str, **headers: Any) -> tuple[int, dict[str, Any], float]:
    started = time.monotonic()
    response = Client(**headers).get(path)
    return response.status_code, json.loads(response.content), time.monotonic() - started


def test_healthz_answers_without_touching_the_database_or_the_cache(django_assert_num_queries: Any) -> None:
    with (
        django_assert_num_queries(0),
        override_settings(CACHES={"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}),
    ):
        status, body, _ = probe("/healthz", HTTP_HOST="probe.internal")
    assert (status, body) == (200, {"status": "ok"})


def test_readyz_is_200_naming_every_check_when_all_are_alive() -> None:
    heartbeat_record(role=WORKER)
    heartbeat_record(role=BEAT)
    status, body, _ = probe("/readyz")
    assert status == 200, body
    assert body == {"status": "ok", "checks": dict.fromkeys(CHECKS, "ok"), "failed": []}


def test_readyz_is_503_naming_a_worker_whose_heartbeat_is_stale() -> None:
    with time_machine.travel(time.time() - 61):
        heartbeat_record(role=WORKER)
    heartbeat_record(role=BEAT)
    status, body, _ = probe("/readyz")
    assert status == 503
    assert body["failed"] == ["worker"]
    assert body["checks"]["worker"].startswith("last worker heartbeat 61 s ago")


def test_readyz_is_503_naming_beat_when_it_never_beat() -> None:
    heartbeat_record(role=WORKER)
    status, body, _ = probe("/readyz")
    assert (status, body["failed"], body["checks"]["beat"]) == (503, ["beat"], "no beat heartbeat yet")


def test_probes_need_no_client_key_nor_an_allowed_host_nor_https() -> None:
    heartbeat_record(role=WORKER)
    heartbeat_record(role=BEAT)
    with override_settings(ALLOWED_HOSTS=["gateway.example"], SECURE_SSL_REDIRECT=True):
        for _ in range(5):
            assert probe("/healthz", HTTP_HOST="10-0-0-7.probe")[0] == 200
            assert probe("/readyz", HTTP_HOST="10-0-0-7.probe")[0] == 200
        # the same unknown host elsewhere is refused, and a known one redirected: the probes are the exception
        assert Client(HTTP_HOST="10-0-0-7.probe").get("/sendsms/").status_code == 400
        assert Client(HTTP_HOST="gateway.example").get("/sendsms/").status_code == 301


@pytest.mark.integration
def test_readyz_sees_a_real_worker_and_beat(worker: Any, worker_env: dict[str, str]) -> None:
    # The session's worker beats from its own timer; beat beats when it starts.
    wait_for(lambda: probe("/readyz")[1]["checks"]["worker"] == "ok", timeout=30, message="worker heartbeat")
    beat = Beat(worker_env)
    beat.start()
    try:
        _, body, _ = wait_for(lambda: (r := probe("/readyz"))[0] == 200 and r, timeout=30, message="ready")
    finally:
        beat.stop()
    assert body["checks"] == dict.fromkeys(CHECKS, "ok")


@pytest.fixture
def frozen_redis(tmp_path: Any) -> Iterator[str]:
    """A real redis-server on a free 127.0.0.1 port, stopped with SIGSTOP: it accepts and never answers."""
    port = free_port()
    proc = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL,
    )
    try:
        wait_for(lambda: subprocess.run(["redis-cli", "-p", str(port), "ping"], capture_output=True).stdout, 10)
        os.kill(proc.pid, signal.SIGSTOP)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        os.kill(proc.pid, signal.SIGCONT)
        proc.terminate()
        proc.wait(10)


@pytest.mark.servers
def test_readyz_answers_503_within_a_second_when_redis_is_frozen(
    frozen_redis: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from smsproject.celery import app

    # Celery reads CELERY_BROKER_URL from the environment before its own setting: both must name the frozen one.
    monkeypatch.setenv("CELERY_BROKER_URL", frozen_redis)
    heartbeat_record(role=WORKER)
    heartbeat_record(role=BEAT)
    caches = {
        "default": {
            "BACKEND": "common.cache.RedisCache",
            "LOCATION": frozen_redis,
            "OPTIONS": {"socket_timeout": 0.25, "socket_connect_timeout": 0.25},
        }
    }
    broker = app.conf.broker_url
    app.conf.broker_url = frozen_redis
    try:
        with override_settings(CACHES=caches):
            for _ in range(3):  # and again while the first probes' checks may still be stuck
                status, body, seconds = probe("/readyz")
                assert status == 503
                assert seconds < 1.0, seconds
                assert {"cache", "broker", "worker", "beat"} <= set(body["failed"]), body
                assert body["checks"]["database"] == "ok"
    finally:
        app.conf.broker_url = broker
