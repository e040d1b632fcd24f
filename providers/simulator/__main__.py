"""``python -m providers.simulator --host 127.0.0.1 --port 8900``: the simulator, without Django."""

from __future__ import annotations

import argparse
import asyncio

from providers.simulator.server import NotLoopback, add_account_arguments, by_vendor, serve


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m providers.simulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="a loopback address (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8900, help="0 picks a free port (default 8900)")
    add_account_arguments(parser)
    args = parser.parse_args(argv)
    try:
        asyncio.run(serve(args.host, args.port, keys=by_vendor(args.key), templates=by_vendor(args.template)))
    except (NotLoopback, ValueError) as exc:
        parser.error(str(exc))


if __name__ == "__main__":
    main()
