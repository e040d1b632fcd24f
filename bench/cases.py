"""What the benchmark runs: each case is one configuration under one load, repeated once per round."""

from __future__ import annotations

from dataclasses import dataclass, replace


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
    # Environment for this case's API server only (a gunicorn of its own), to measure a setting that is not
    # the default beside the default, in the same rounds.
    api_env: tuple[tuple[str, str], ...] = ()
    # Calls each engine may have in flight per worker process. False: the benchmark's raised cap
    # (``BENCH_MAX_IN_FLIGHT``, 1,200), which the 200 ms targets are stated at (1,000 in flight). True: the
    # engine's shipped default (``Engine.max_in_flight``, 100), what a deployment runs unless configured.
    engine_default_in_flight: bool = False
    # Delivery reports: the backlog goes through this engine alone ("smsir" or "kavenegar"), and once it is
    # delivered its reports are polled (due at once, the poller run as beat runs it), measured on their own.
    reports: str = ""
    # Template 1's routing policy. "adaptive" starts with scores for every operator, both engines trusted, so the
    # worker ranks engines per message as it would in production (exploration included).
    routing: str = "priority"

    @property
    def server(self) -> str:
        """The name of the server this case drives: "bare", "seed-api", "api", or "api" + its own settings."""
        if self.target == "bare":
            return "bare"
        if self.worker == "seed":
            return "seed-api"  # the seed published one Celery task per request
        return "-".join(["api", *(f"{key}={value}" for key, value in self.api_env)])


_CLIENTS = {
    "aiohttp": "aiohttp",
    "httpx": "httpx AsyncClient",
    "httpx_default": "httpx AsyncClient, default pool (100 connections, 20 kept alive)",
    "httpx_aiohttp": "httpx AsyncClient over aiohttp (httpx-aiohttp)",
}


def _ceiling(client: str, in_flight: int, latency_ms: int, *, quick_count: int) -> Case:
    """A bare asyncio client against the simulator: ``ceiling_<client>_<in flight>_<latency>ms``."""
    return Case(
        f"ceiling_{client}_{in_flight}_{latency_ms}ms",
        f"bare asyncio client, {_CLIENTS[client]}, {in_flight} in flight, simulator at {latency_ms} ms",
        "smsir",
        None,
        latency_ms,
        20000,
        quick_count,
        connections=in_flight,
        feed_seconds=30 if latency_ms == 0 else 20,
        drain_seconds=0,
        client=client,
    )


_OPEN200_0MS = Case(
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
)

_API_ACCEPT = Case(
    "api_accept",
    "real API at saturation (16 connections), accept path alone: the worker starts after the feed",
    "api",
    "gateway",
    0,
    20000,
    300,
    feed_seconds=80,
    worker_after_feed=True,
)

_DELIVER_0MS = Case(
    "deliver_0ms",
    "delivery capacity: backlog stored and announced at once, gateway worker, provider 0 ms, "
    "engines at their default of 100 calls in flight",
    "api",
    "gateway",
    0,
    20000,
    300,
    backlog=True,
    engine_default_in_flight=True,
)

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
    _API_ACCEPT,
    # What counting for /metrics costs the accept path: the same case with the API's metrics switched off.
    replace(
        _API_ACCEPT,
        name="api_accept_metrics_off",
        what="as api_accept, the API with SMS_METRICS_ENABLED=0 (metrics are on by default)",
        api_env=(("SMS_METRICS_ENABLED", "0"),),
    ),
    # The accept path does not read the routing policy; measured anyway, beside the default, in the same rounds.
    replace(
        _API_ACCEPT,
        name="api_accept_adaptive",
        what="as api_accept, template 1 under adaptive routing",
        routing="adaptive",
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
    _DELIVER_0MS,
    replace(
        _DELIVER_0MS,
        name="deliver_0ms_adaptive",
        what="as deliver_0ms, template 1 under adaptive routing (engines ranked by their scores, 5 % exploring)",
        routing="adaptive",
    ),
    # deliver_0ms with the engines' cap raised to the 200 ms case's. With 1,200 calls allowed at once against a
    # provider that answers at once, a worker opens ~1,200 connections; setting them up costs both ends CPU
    # (docs/benchmark.md).
    Case(
        "deliver_0ms_1200",
        "as deliver_0ms, engines raised to 1,200 calls in flight (the 200 ms case's cap)",
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
    # The bare client the gateway is measured against, and the clients it was chosen from.
    _ceiling("aiohttp", 64, 0, quick_count=500),
    _ceiling("aiohttp", 500, 0, quick_count=500),
    _ceiling("httpx", 500, 0, quick_count=500),
    _ceiling("httpx_default", 500, 0, quick_count=500),
    _ceiling("httpx_aiohttp", 500, 0, quick_count=500),
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
    _ceiling("aiohttp", 64, 200, quick_count=200),
    _ceiling("aiohttp", 500, 200, quick_count=1000),
    # httpx makes ~60 a second here: a quick run's few seconds.
    _ceiling("httpx", 500, 200, quick_count=200),
    _ceiling("httpx_default", 500, 200, quick_count=200),
    _ceiling("httpx_aiohttp", 500, 200, quick_count=1000),
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
    _OPEN200_0MS,
    # The share of the accept p99 that is the WAL flush each commit waits for, as a figure.
    replace(
        _OPEN200_0MS,
        name="open200_0ms_async_commit",
        what="as open200_0ms, the API with DB_SYNCHRONOUS_COMMIT=off (not the default: a crash loses ~0.6 s of 202s)",
        api_env=(("DB_SYNCHRONOUS_COMMIT", "off"),),
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
    # What polling delivery reports costs: provider calls and worker CPU per 1,000 reports.
    Case(
        "reports_kavenegar",
        "delivery reports: a backlog sent through Kavenegar, then its reports polled (up to 500 ids a call)",
        "api",
        "gateway",
        0,
        4000,
        100,
        backlog=True,
        engine_default_in_flight=True,
        reports="kavenegar",
    ),
    Case(
        "reports_smsir",
        "delivery reports: a backlog sent through SMS.IR, then its reports polled (one id a call, 100 in flight)",
        "api",
        "gateway",
        0,
        4000,
        100,
        backlog=True,
        engine_default_in_flight=True,
        reports="smsir",
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
