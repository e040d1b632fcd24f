"""A local HTTP stand-in for SMS.IR and Kavenegar, with fault injection and a record of what it received.

It speaks both vendors' real wire formats (``/smsir/v1/send/verify``, ``/kavenegar/v1/{key}/verify/lookup.json``)
so engines point at ``http://127.0.0.1:PORT/smsir`` or ``.../kavenegar`` and run unchanged code. Tests drive it
through a JSON control API under ``/_sim/`` (see ``docs/ADDING_PROVIDERS.md``). Everything is kept in memory
and handlers do no disk IO: load tests push thousands of requests a second through it.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import itertools
import json
import re
import signal
import time
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, replace
from functools import partial
from typing import Any

from aiohttp import web

from providers.simulator.wire import (
    KAVENEGAR,
    SMSIR,
    VENDORS,
    Answer,
    Received,
    Vendor,
    kavenegar_received,
    smsir_received,
)

# "credit", "rate_limit", "bad_key", "invalid_number", "template_not_found": each vendor's own code for it.
NAMED_ERROR_MODES = frozenset(SMSIR.codes)
MODES = frozenset({"ok", "latency", "http500", "timeout", "reset", "garbage", "error"}) | NAMED_ERROR_MODES
# "Never answer": long enough for any client read timeout, cut short when the simulator stops.
_HANG_SECONDS = 3600.0
_RECEPTOR = re.compile(r"09\d{9}")
_dumps = partial(json.dumps, ensure_ascii=False)  # the vendors send Persian as UTF-8, not \u escapes


class NotLoopback(ValueError):
    """The simulator only ever listens on a loopback address."""


@dataclass
class Fault:
    mode: str = "ok"
    latency_ms: int = 0
    fail_first: int | None = None  # how many more requests it applies to; None: until changed
    code: int | None = None


class SimulatorState:
    def __init__(self) -> None:
        self.records: dict[str, list[dict[str, Any]]] = {name: [] for name in VENDORS}
        self.faults: dict[str, Fault] = {name: Fault() for name in VENDORS}
        # Ids keep increasing across resets, so no two answers in one run share an id.
        self.ids = {name: itertools.count(1) for name in VENDORS}
        self.stopping = asyncio.Event()

    def take_fault(self, provider: str) -> Fault:
        fault = self.faults[provider]
        if fault.fail_first is not None:
            fault.fail_first -= 1
            if fault.fail_first <= 0:
                self.faults[provider] = Fault()
        return fault


STATE = web.AppKey("state", SimulatorState)


async def _answer(request: web.Request, vendor: Vendor, received: Received) -> web.StreamResponse:
    state = request.app[STATE]
    record: dict[str, Any] = {
        "provider": vendor.name,
        "path": request.path,
        "headers": dict(request.headers),
        "body": received.body,
        "mobile": _e164(received.receptor),
        "params": received.params,
        "template": received.template,
        "received_at": time.time(),
        "status_returned": None,
        "message_id": None,
    }
    state.records[vendor.name].append(record)
    if not received.key_present:
        return _reply(record, vendor.error(vendor.codes["bad_key"]))

    fault = state.take_fault(vendor.name)
    if fault.latency_ms:
        await asyncio.sleep(fault.latency_ms / 1000)
    if fault.mode == "timeout":
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(state.stopping.wait(), _HANG_SECONDS)
        return web.Response(status=503)
    if fault.mode == "reset":
        if request.transport is not None:
            request.transport.abort()
        return web.Response(status=499)  # never delivered: the connection is gone
    if fault.mode == "http500":
        record["status_returned"] = 500
        return web.Response(status=500, text="Internal Server Error")
    if fault.mode == "garbage":
        record["status_returned"] = 200
        return web.Response(status=200, text="<html>oops", content_type="text/html")
    if fault.mode == "error" and fault.code is not None:
        return _reply(record, vendor.error(fault.code))
    if fault.mode in NAMED_ERROR_MODES:
        return _reply(record, vendor.error(vendor.codes[fault.mode]))
    if not _RECEPTOR.fullmatch(received.receptor):
        return _reply(record, vendor.error(vendor.codes["invalid_number"]))

    message_id = next(state.ids[vendor.name])
    record["message_id"] = message_id
    return _reply(record, vendor.success(message_id, received))


def _reply(record: dict[str, Any], answer: Answer) -> web.Response:
    record["status_returned"] = answer.status
    return web.json_response(answer.body, status=answer.status, dumps=_dumps)


def _e164(receptor: str) -> str:
    # Recorded in the form the gateway stores, so tests compare it with what they asked to send.
    return "+98" + receptor[1:] if _RECEPTOR.fullmatch(receptor) else receptor


async def smsir_verify(request: web.Request) -> web.StreamResponse:
    raw = await request.read()
    try:
        body = json.loads(raw)
    except ValueError:
        body = None
    return await _answer(request, SMSIR, smsir_received(body, request.headers.get("x-api-key", "")))


async def kavenegar_lookup(request: web.Request) -> web.StreamResponse:
    form = {name: str(value) for name, value in (await request.post()).items()}
    return await _answer(request, KAVENEGAR, kavenegar_received(form, request.match_info["key"]))


async def received_list(request: web.Request) -> web.Response:
    state = request.app[STATE]
    provider = request.query.get("provider")
    if provider is not None and provider not in VENDORS:
        raise web.HTTPBadRequest(text=f"unknown provider {provider!r}")
    records = (
        state.records[provider]
        if provider
        else sorted(itertools.chain.from_iterable(state.records.values()), key=lambda record: record["received_at"])
    )
    mobile = request.query.get("mobile")
    if mobile is not None:
        records = [record for record in records if record["mobile"] == mobile]
    return web.json_response({"requests": records}, dumps=_dumps)


async def stats(request: web.Request) -> web.Response:
    state = request.app[STATE]
    per_mobile: defaultdict[str, Counter[str]] = defaultdict(Counter)
    providers: dict[str, dict[str, Any]] = {}
    for name, records in state.records.items():
        statuses: Counter[str] = Counter()
        for record in records:
            per_mobile[record["mobile"]][name] += 1
            statuses[str(record["status_returned"])] += 1
        sent = sum(1 for record in records if record["message_id"] is not None)
        providers[name] = {"requests": len(records), "sent": sent, "statuses": dict(statuses)}
    return web.json_response(
        {
            "total": sum(len(records) for records in state.records.values()),
            "providers": providers,
            "mobiles": {mobile: dict(counts) for mobile, counts in per_mobile.items()},
            "faults": {name: asdict(fault) for name, fault in state.faults.items()},
        }
    )


async def reset(request: web.Request) -> web.Response:
    state = request.app[STATE]
    for name in VENDORS:
        state.records[name].clear()
        state.faults[name] = Fault()
    return web.json_response({"ok": True})


async def set_fault(request: web.Request) -> web.Response:
    state = request.app[STATE]
    try:
        options = await request.json()
    except ValueError:
        raise web.HTTPBadRequest(text="body must be JSON") from None
    fault, targets = _parse_fault(options if isinstance(options, dict) else {})
    for name in targets:
        state.faults[name] = replace(fault)  # each provider counts its own fail_first
    return web.json_response({"faults": {name: asdict(state.faults[name]) for name in VENDORS}})


def _parse_fault(options: dict[str, Any]) -> tuple[Fault, list[str]]:
    provider = options.get("provider")
    targets = list(VENDORS) if provider == "all" else [provider] if provider in VENDORS else None
    mode = options.get("mode")
    latency_ms = options.get("latency_ms") or 0
    fail_first = options.get("fail_first")
    code = options.get("code")
    if targets is None:
        raise web.HTTPBadRequest(text="provider must be smsir, kavenegar or all")
    if mode not in MODES:
        raise web.HTTPBadRequest(text=f"mode must be one of {sorted(MODES)}")
    if not isinstance(latency_ms, int) or latency_ms < 0:
        raise web.HTTPBadRequest(text="latency_ms must be a non-negative integer")
    if fail_first is not None and (not isinstance(fail_first, int) or fail_first < 0):
        raise web.HTTPBadRequest(text="fail_first must be a non-negative integer or null")
    if mode == "error" and not isinstance(code, int):
        raise web.HTTPBadRequest(text="mode error needs an integer code")
    if fail_first == 0:
        mode, latency_ms, fail_first = "ok", 0, None
    return Fault(mode, latency_ms, fail_first, code if mode == "error" else None), targets


def make_app() -> web.Application:
    app = web.Application()
    app[STATE] = SimulatorState()
    app.router.add_post("/smsir/v1/send/verify", smsir_verify)
    app.router.add_post("/kavenegar/v1/{key}/verify/lookup.json", kavenegar_lookup)
    app.router.add_get("/_sim/received", received_list)
    app.router.add_get("/_sim/stats", stats)
    app.router.add_post("/_sim/reset", reset)
    app.router.add_post("/_sim/fault", set_fault)
    app.on_shutdown.append(_release_hung_requests)
    return app


async def _release_hung_requests(app: web.Application) -> None:
    # Runs before the runner waits for open handlers, so "timeout" requests don't hold up shutdown.
    app[STATE].stopping.set()


def require_loopback(host: str) -> None:
    if host == "localhost":
        return
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise NotLoopback(f"refusing to listen on {host!r}: the simulator binds loopback addresses only")


async def start_simulator(host: str = "127.0.0.1", port: int = 0) -> tuple[web.AppRunner, int]:
    """Start the simulator in the running loop; return its runner (``await runner.cleanup()``) and port."""
    require_loopback(host)
    runner = web.AppRunner(make_app(), access_log=None, shutdown_timeout=1.0)
    await runner.setup()
    await web.TCPSite(runner, host, port, backlog=1024).start()
    return runner, runner.addresses[0][1]


async def serve(host: str, port: int) -> None:
    """Run until SIGINT or SIGTERM, after printing the one line test harnesses wait for."""
    runner, bound = await start_simulator(host, port)
    # The only stdout output: harnesses read this line from a pipe they never drain again.
    print(f"SIMULATOR_LISTENING http://{host}:{bound}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()
