"""``python -m providers.simulator --host 127.0.0.1 --port 8900``: the simulator, without Django."""

from __future__ import annotations

import argparse
import asyncio
from collections import defaultdict

from providers.simulator.server import NotLoopback, serve
from providers.simulator.wire import VENDORS


def _by_vendor(parser: argparse.ArgumentParser, pairs: list[str], option: str) -> dict[str, list[str]]:
    found: defaultdict[str, list[str]] = defaultdict(list)
    for pair in pairs:
        vendor, _, name = pair.partition("=")
        if vendor not in VENDORS or not name:
            parser.error(f"{option} takes VENDOR=VALUE with VENDOR one of {sorted(VENDORS)}")
        found[vendor].append(name)
    return found


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m providers.simulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="a loopback address (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8900, help="0 picks a free port (default 8900)")
    parser.add_argument(
        "--key", action="append", default=[], metavar="VENDOR=KEY", help="another valid API key (repeatable)"
    )
    parser.add_argument(
        "--template", action="append", default=[], metavar="VENDOR=ID", help="another known template (repeatable)"
    )
    args = parser.parse_args(argv)
    keys = _by_vendor(parser, args.key, "--key")
    templates = _by_vendor(parser, args.template, "--template")
    try:
        asyncio.run(serve(args.host, args.port, keys=keys, templates=templates))
    except NotLoopback as exc:
        parser.error(str(exc))


if __name__ == "__main__":
    main()
