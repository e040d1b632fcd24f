"""``manage.py provider_simulator``: the same simulator as ``python -m providers.simulator``."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from providers.simulator.server import NotLoopback, add_account_arguments, by_vendor, serve


class Command(BaseCommand):
    help = "Run the SMS.IR / Kavenegar simulator on a loopback address until interrupted."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1", help="a loopback address (default 127.0.0.1)")
        parser.add_argument("--port", type=int, default=8900, help="0 picks a free port (default 8900)")
        add_account_arguments(parser)

    def handle(
        self, *args: Any, host: str, port: int, key: Sequence[str] = (), template: Sequence[str] = (), **options: Any
    ) -> None:
        try:
            asyncio.run(serve(host, port, keys=by_vendor(key), templates=by_vendor(template)))
        except (NotLoopback, ValueError) as exc:
            raise CommandError(str(exc)) from exc
