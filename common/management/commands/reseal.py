"""``manage.py reseal``: after a new key was put first in TOKEN_SEAL_KEYS, move every sealed value to it."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from common.resealing import secrets_reseal


class Command(BaseCommand):
    help = "Re-seal every secret stored at rest (token values, codes, provider keys) under the first TOKEN_SEAL_KEYS."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch-size", type=int, default=500, help="Rows rewritten per transaction.")

    def handle(self, *args: Any, batch_size: int, **options: Any) -> None:
        for column in secrets_reseal(batch_size=batch_size):
            self.stdout.write(f"{column.label}: {column.resealed} of {column.checked} re-sealed")
