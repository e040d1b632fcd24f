"""``manage.py forget_phone NUMBER``: erase every row about one phone number, written in any spelling."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from common.conf import gateway_settings
from common.masking import mask_phone
from common.phones import InvalidPhone
from verifications.retention import phone_forget


class Command(BaseCommand):
    help = (
        "Delete every send request (with its attempts), verification and idempotency record about one number, "
        "and its rate-limit counters."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("phone", help="The number, in any form a client may send it.")
        parser.add_argument(
            "--wait",
            type=float,
            default=None,
            help="Seconds to wait for requests being sent to be let go (default: the lease plus a sweep).",
        )

    def handle(self, *args: Any, phone: str, wait: float | None, **options: Any) -> None:
        gateway = gateway_settings()
        if wait is None:
            wait = gateway["LEASE_SECONDS"] + gateway["SWEEP_INTERVAL_SECONDS"]
        try:
            erased = phone_forget(raw_phone=phone, wait_seconds=wait)
        except InvalidPhone:
            raise CommandError("Not a phone number.") from None
        self.stdout.write(
            f"{mask_phone(erased.phone)}: deleted {erased.requests} request(s) with their attempts, "
            f"{erased.verifications} verification(s), {erased.idempotency_records} idempotency record(s); "
            "rate-limit counters cleared"
        )
        if erased.requests_left:
            raise CommandError(f"{erased.requests_left} request(s) are still being sent: run the command again.")
