"""A local HTTP stand-in for SMS.IR and Kavenegar that behaves like their real APIs, with fault injection.

It speaks both vendors' wire formats under ``/smsir`` and ``/kavenegar`` (engines point their ``api_url`` at
``http://127.0.0.1:PORT/smsir`` or ``.../kavenegar`` and run unchanged code):

- SMS.IR: ``POST /v1/send/verify``, ``GET /v1/send/{messageId}`` (delivery report), ``GET /v1/credit``, each
  with or without a trailing slash, key in ``x-api-key``, JSON body keys in any case.
- Kavenegar: ``/v1/{key}/verify/lookup.json``, ``/v1/{key}/sms/status.json?messageid=1,2`` (up to 500 ids),
  ``/v1/{key}/account/info.json``, over GET or POST, parameters in the query string or a form body.

Like the real APIs it refuses a wrong key (401 status 10 / 403), an unknown template (113 / 424), a
malformed number (104 / 411), an SMS.IR parameter over 25 characters (114), a Kavenegar token with spaces
(431) or a missing parameter (400), and a key out of credit (102 / 418). Kavenegar's lookup also takes
``type=call``, the code read out in a phone call: refused with 428 unless ``token`` is 1 to 10 digits and the
only token, or when the number's prefix is set not to take calls. Each accepted message is delivered, or left
undelivered, after a delay set per vendor, channel and number prefix, and the status endpoints report it.

Tests drive it through the JSON control API under ``/_sim/`` (``providers/simulator/control.py``;
``docs/ADDING_PROVIDERS.md`` has the table). Everything is kept in memory and handlers do no disk IO: load
tests push thousands of requests a second through it.
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import signal
import ssl
from collections.abc import Iterable, Mapping

from aiohttp import web

from providers.simulator import control, endpoints
from providers.simulator.state import STATE, SimulatorState
from providers.simulator.wire import VENDORS


class NotLoopback(ValueError):
    """The simulator only ever listens on a loopback address."""


Keys = Mapping[str, Iterable[str]]


def add_account_arguments(parser: argparse.ArgumentParser) -> None:
    """``--key VENDOR=KEY`` and ``--template VENDOR=ID``, for both command lines that start the simulator."""
    parser.add_argument("--key", action="append", default=[], metavar="VENDOR=KEY", help="another valid API key")
    parser.add_argument("--template", action="append", default=[], metavar="VENDOR=ID", help="another known template")


def by_vendor(pairs: Iterable[str]) -> dict[str, list[str]]:
    """``["smsir=A", "smsir=B"]`` as ``{"smsir": ["A", "B"]}``; ValueError for an unknown vendor or no value."""
    found: dict[str, list[str]] = {}
    for pair in pairs:
        vendor, _, name = pair.partition("=")
        if vendor not in VENDORS or not name:
            raise ValueError(f"{pair!r}: expected VENDOR=VALUE with VENDOR one of {sorted(VENDORS)}")
        found.setdefault(vendor, []).append(name)
    return found


def make_app(keys: Keys | None = None, templates: Keys | None = None) -> web.Application:
    """The simulator's app; ``keys`` and ``templates`` (vendor -> names) add to the ones every vendor knows."""
    app = web.Application()
    app[STATE] = SimulatorState(keys, templates)
    endpoints.add_routes(app)
    control.add_routes(app)
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


async def start_simulator(
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    keys: Keys | None = None,
    templates: Keys | None = None,
    ssl_context: ssl.SSLContext | None = None,
) -> tuple[web.AppRunner, int]:
    """Start the simulator in the running loop; return its runner (``await runner.cleanup()``) and port.

    ``ssl_context`` serves HTTPS instead, for clients that cannot be given an ``http://`` URL.
    """
    require_loopback(host)
    runner = web.AppRunner(make_app(keys, templates), access_log=None, shutdown_timeout=1.0)
    await runner.setup()
    await web.TCPSite(runner, host, port, backlog=1024, ssl_context=ssl_context).start()
    return runner, runner.addresses[0][1]


async def serve(host: str, port: int, *, keys: Keys | None = None, templates: Keys | None = None) -> None:
    """Run until SIGINT or SIGTERM, after printing the one line test harnesses wait for."""
    runner, bound = await start_simulator(host, port, keys=keys, templates=templates)
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
