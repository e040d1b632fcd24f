"""What the benchmark runs: each case is one configuration under one load, repeated once per round."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Case:
    name: str
    what: str
    target: str  # "api": the real API (POST /sendsms/); "bare": the bare DRF reference; "smsir": the simulator
    worker: str | None  # "gateway" (BENCH_WORKER_CMD), "seed" (bench/seed), or None
    latency_ms: int
    count: int  # requests in the full run, over all rounds
    quick_count: int
    rate: float = 0.0  # open loop at this many requests a second; 0: saturation with ``connections`` loops
    connections: int = 16
    feed_seconds: float = 120.0  # per round: the generator stops early after this long
    drain_seconds: float = 120.0  # per round: how long to wait for every accepted request to end
    failover: bool = False  # SMS.IR points at a closed port, so every send fails over to Kavenegar
    client: str = "aiohttp"
    # Delivery capacity: the requests are stored and announced all at once (as request_create does, without
    # the API), so the worker has a backlog to work through whatever the API's speed.
    backlog: bool = False
    # The accept path alone (validate, store, announce): the worker starts when the feed ends, then
    # drains everything, so the API has the machine's cores to itself as it would on its own hosts.
    # Meanwhile a pump's alive mark is set, as under load, so the API's work is what it is then.
    worker_after_feed: bool = False


CASES = [
    Case(
        "api_bare",
        "bare DRF endpoint: same parser, auth and serializer; 202 without storing or queueing",
        "bare",
        None,
        0,
        20000,
        300,
        feed_seconds=60,
        drain_seconds=0,
    ),
    Case(
        "api_accept",
        "real API at saturation (16 connections), accept path alone: the worker starts after the feed",
        "api",
        "gateway",
        0,
        20000,
        300,
        feed_seconds=80,
        worker_after_feed=True,
    ),
    Case(
        "api_gateway",
        "real API at saturation (16 connections), gateway worker, provider 0 ms",
        "api",
        "gateway",
        0,
        20000,
        300,
        feed_seconds=80,
    ),
    Case(
        "deliver_0ms",
        "delivery capacity: backlog stored and announced at once, gateway worker, provider 0 ms",
        "api",
        "gateway",
        0,
        20000,
        300,
        backlog=True,
    ),
    Case(
        "seed_0ms",
        "delivery capacity: backlog published one task per id, seed worker, provider 0 ms",
        "api",
        "seed",
        0,
        3000,
        5,
        backlog=True,
    ),
    Case(
        "ceiling_aiohttp_64_0ms",
        "bare asyncio client, aiohttp, 64 in flight, simulator at 0 ms",
        "smsir",
        None,
        0,
        20000,
        500,
        connections=64,
        feed_seconds=30,
        drain_seconds=0,
    ),
    Case(
        "ceiling_aiohttp_500_0ms",
        "bare asyncio client, aiohttp, 500 in flight, simulator at 0 ms",
        "smsir",
        None,
        0,
        20000,
        500,
        connections=500,
        feed_seconds=30,
        drain_seconds=0,
    ),
    Case(
        "ceiling_httpx_500_0ms",
        "bare asyncio client, httpx AsyncClient, 500 in flight, simulator at 0 ms",
        "smsir",
        None,
        0,
        20000,
        500,
        connections=500,
        feed_seconds=30,
        drain_seconds=0,
        client="httpx",
    ),
    Case(
        "ceiling_httpx_default_500_0ms",
        "bare asyncio client, httpx AsyncClient, default pool (100 connections, 20 kept alive), 500 in flight, 0 ms",
        "smsir",
        None,
        0,
        20000,
        500,
        connections=500,
        feed_seconds=30,
        drain_seconds=0,
        client="httpx_default",
    ),
    Case(
        "ceiling_httpx_aiohttp_500_0ms",
        "bare asyncio client, httpx AsyncClient over aiohttp (httpx-aiohttp), 500 in flight, simulator at 0 ms",
        "smsir",
        None,
        0,
        20000,
        500,
        connections=500,
        feed_seconds=30,
        drain_seconds=0,
        client="httpx_aiohttp",
    ),
    Case(
        "deliver_200ms",
        "delivery capacity and worker RSS: backlog at once, gateway worker, provider 200 ms",
        "api",
        "gateway",
        200,
        20000,
        300,
        backlog=True,
    ),
    Case(
        "seed_200ms",
        "delivery capacity: backlog, seed worker, provider 200 ms (it sends 5 a second)",
        "api",
        "seed",
        200,
        300,
        3,
        drain_seconds=90,  # 300 at ~5 a second is a minute; leave it room on a slow round
        backlog=True,
    ),
    Case(
        "ceiling_aiohttp_64_200ms",
        "bare asyncio client, aiohttp, 64 in flight, simulator at 200 ms",
        "smsir",
        None,
        200,
        20000,
        200,
        connections=64,
        feed_seconds=20,
        drain_seconds=0,
    ),
    Case(
        "ceiling_aiohttp_500_200ms",
        "bare asyncio client, aiohttp, 500 in flight, simulator at 200 ms",
        "smsir",
        None,
        200,
        20000,
        1000,
        connections=500,
        feed_seconds=20,
        drain_seconds=0,
    ),
    Case(
        "ceiling_httpx_500_200ms",
        "bare asyncio client, httpx AsyncClient, 500 in flight, simulator at 200 ms",
        "smsir",
        None,
        200,
        20000,
        200,  # httpx makes ~60 a second here: a quick run's few seconds
        connections=500,
        feed_seconds=20,
        drain_seconds=0,
        client="httpx",
    ),
    Case(
        "ceiling_httpx_default_500_200ms",
        "bare asyncio client, httpx AsyncClient, default pool (100 connections, 20 kept alive), 500 in flight, 200 ms",
        "smsir",
        None,
        200,
        20000,
        200,  # httpx makes ~60 a second here: a quick run's few seconds
        connections=500,
        feed_seconds=20,
        drain_seconds=0,
        client="httpx_default",
    ),
    Case(
        "ceiling_httpx_aiohttp_500_200ms",
        "bare asyncio client, httpx AsyncClient over aiohttp (httpx-aiohttp), 500 in flight, simulator at 200 ms",
        "smsir",
        None,
        200,
        20000,
        1000,
        connections=500,
        feed_seconds=20,
        drain_seconds=0,
        client="httpx_aiohttp",
    ),
    Case(
        "open200_bare",
        "bare DRF endpoint, open loop at 200 req/s: the framework's own latency on this machine",
        "bare",
        None,
        0,
        20000,
        200,
        rate=200,
        feed_seconds=110,
        drain_seconds=0,
    ),
    Case(
        "open200_0ms",
        "real API, open loop at 200 req/s, gateway worker, provider 0 ms",
        "api",
        "gateway",
        0,
        20000,
        200,
        rate=200,
        feed_seconds=110,
        drain_seconds=60,
    ),
    Case(
        "open200_200ms",
        "real API, open loop at 200 req/s, gateway worker, provider 200 ms",
        "api",
        "gateway",
        200,
        20000,
        200,
        rate=200,
        feed_seconds=110,
        drain_seconds=40,
    ),
    Case(
        "failover",
        "real API, open loop at 200 req/s, SMS.IR refuses connections: every send fails over",
        "api",
        "gateway",
        0,
        20000,
        100,
        rate=200,
        feed_seconds=110,
        drain_seconds=60,
        failover=True,
    ),
]


def cases_select(names: list[str]) -> list[Case]:
    """The cases whose name equals or starts with one of ``names`` (all of them when none is given)."""
    if not names:
        return list(CASES)
    chosen = [case for case in CASES if any(case.name == name or case.name.startswith(name) for name in names)]
    unknown = [name for name in names if not any(case.name.startswith(name) for case in CASES)]
    if unknown:
        raise SystemExit(f"unknown case(s) {unknown}; known: {[case.name for case in CASES]}")
    return chosen
