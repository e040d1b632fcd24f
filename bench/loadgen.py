"""The load generator: ``python -m bench.loadgen --target api|smsir ...``, results as JSON on ``--out``.

Open loop (``--rate``): request i is due at start + i/rate whatever happened to earlier ones, and its latency
counts from when it was due, so a slow server cannot hide its queueing (no coordinated omission).
Saturation (``--connections N``): N loops, each sending its next request as soon as the last one answered.
Phone numbers are 0912xxxxxxx from ``--phone-start`` on, one per request, so deliveries can be matched.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from pathlib import Path
from typing import Any

import aiohttp

from common.runtime import gc_freeze_loaded

PHONE_PREFIX = "0912"
_TIMEOUT = aiohttp.ClientTimeout(total=30)


def phone(number: int) -> str:
    return f"{PHONE_PREFIX}{number:07d}"


def e164(local: str) -> str:
    return "+98" + local[1:]


class Generator:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.records: list[list[Any]] = []
        self.next_index = 0
        # loop.time() is time.monotonic(); the offset turns it into the wall clock the simulator stamps.
        self.wall_offset = time.time() - time.monotonic()

    def request(self, index: int) -> tuple[str, dict[str, Any], dict[str, str]]:
        args = self.args
        local = phone(args.phone_start + index)
        if args.target == "api":
            body = {"phone": local, "template_id": 1, "token_value": {"code": f"{index % 1000000:06d}"}}
            return f"{args.url}/sendsms/", body, {"Authorization": f"Token {args.key}"}
        body = {"mobile": local, "templateId": 100000, "parameters": [{"name": "CODE", "value": "123456"}]}
        return f"{args.url}/smsir/v1/send/verify", body, {"x-api-key": "smsir-test-key"}

    async def one(self, session: aiohttp.ClientSession, index: int, due: float) -> None:
        url, body, headers = self.request(index)
        request_id = None
        status: int | str
        try:
            async with session.post(url, json=body, headers=headers) as response:
                status = response.status
                payload = await response.read()
            if status == 202 and self.args.target == "api":
                request_id = json.loads(payload).get("id")
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            status = type(exc).__name__
        done = time.monotonic()
        self.records.append(
            [
                body.get("phone") or body.get("mobile"),
                due + self.wall_offset,
                done + self.wall_offset,
                status,
                request_id,
            ]
        )

    async def open_loop(self, session: aiohttp.ClientSession) -> None:
        args = self.args
        start = time.monotonic() + 0.05
        limit = asyncio.Semaphore(args.max_in_flight)
        tasks = set()

        async def bounded(index: int, due: float) -> None:
            async with limit:
                await self.one(session, index, due)

        for index in range(args.count):
            due = start + index / args.rate
            if due - start > args.max_seconds:
                break
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            task = asyncio.create_task(bounded(index, due))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        await asyncio.gather(*tasks)

    async def saturate(self, session: aiohttp.ClientSession) -> None:
        args = self.args
        deadline = time.monotonic() + args.max_seconds

        async def loop() -> None:
            while self.next_index < args.count and time.monotonic() < deadline:
                index = self.next_index
                self.next_index += 1
                await self.one(session, index, time.monotonic())

        await asyncio.gather(*(loop() for _ in range(args.connections)))

    async def run(self) -> dict[str, Any]:
        args = self.args
        if args.client.startswith("httpx"):
            return await self.run_httpx()
        # Gunicorn's sync workers close every connection after one answer: never reuse one against the API.
        connector = aiohttp.TCPConnector(limit=0, force_close=args.target == "api")
        started = time.time()
        async with aiohttp.ClientSession(connector=connector, timeout=_TIMEOUT) as session:
            await (self.open_loop(session) if args.rate else self.saturate(session))
        return {"started": started, "ended": time.time(), "records": self.records}

    async def run_httpx(self) -> dict[str, Any]:
        import httpx  # only the httpx ceiling lines need it (a development requirement)

        args = self.args
        if args.client == "httpx_default":
            limits = httpx.Limits()  # httpx's own: at most 100 connections, 20 kept alive
        else:
            limits = httpx.Limits(max_connections=args.connections, max_keepalive_connections=args.connections)
        transport = None
        if args.client == "httpx_aiohttp":  # httpx's API over aiohttp's pool and parser (package httpx-aiohttp)
            from httpx_aiohttp import AiohttpTransport

            transport = AiohttpTransport(limits=limits)
        started = time.time()
        deadline = time.monotonic() + args.max_seconds
        async with httpx.AsyncClient(limits=limits, timeout=30, transport=transport) as client:

            async def loop() -> None:
                while self.next_index < args.count and time.monotonic() < deadline:
                    index = self.next_index
                    self.next_index += 1
                    url, body, headers = self.request(index)
                    due = time.monotonic()
                    try:
                        status: Any = (await client.post(url, json=body, headers=headers)).status_code
                    except httpx.HTTPError as exc:
                        status = type(exc).__name__
                    self.records.append([body["mobile"], due + self.wall_offset, time.time(), status, None])

            await asyncio.gather(*(loop() for _ in range(args.connections)))
        return {"started": started, "ended": time.time(), "records": self.records}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.loadgen", description=__doc__)
    parser.add_argument("--target", choices=["api", "smsir"], required=True)
    parser.add_argument("--url", required=True, help="the API's or the simulator's base URL")
    parser.add_argument("--key", default="", help="client key (target api)")
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--max-seconds", type=float, default=300.0)
    parser.add_argument("--rate", type=float, default=0.0, help="open loop: requests per second")
    parser.add_argument("--connections", type=int, default=16, help="saturation: concurrent loops")
    parser.add_argument("--max-in-flight", type=int, default=800, help="open loop: cap on open requests")
    parser.add_argument(
        "--client",
        choices=["aiohttp", "httpx", "httpx_default", "httpx_aiohttp"],
        default="aiohttp",
        help="target smsir only: httpx with a pool of --connections, with its default pool, or over aiohttp",
    )
    parser.add_argument("--phone-start", type=int, default=0)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    # As the gateway's own processes do, at their default threshold: the bare client is the fastest we
    # found, and the collector's default threshold cost it up to a quarter of its rate at 500 in flight.
    gc_freeze_loaded(50_000)
    result = asyncio.run(Generator(args).run())
    args.out.write_text(json.dumps(result))


if __name__ == "__main__":
    main()
