"""Personal data: rows about a phone number kept no longer than ``SMS_RETENTION_DAYS``, and erased on request.

Rows about a number are its send requests with their attempts (messaging), its verifications, the
idempotency records whose stored answer shows it, and its rate-limit counters in the cache. They are
deleted, not kept anonymised: nothing reads them once they are this old, and an erased person's rows
have no use left.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone

from clients.idempotency import idempotency_records_forget, idempotency_records_purge_batch
from common.api import EVERY_REGION
from common.conf import gateway_settings
from common.phones import normalize_phone
from messaging.services.limits import phone_counters_forget
from messaging.services.retention import requests_forget_batch, requests_purge_batch
from verifications.models import Verification


@dataclass
class Erased:
    phone: str = ""  # E.164; only ever shown masked
    requests: int = 0
    verifications: int = 0
    idempotency_records: int = 0
    counters: int = 0  # rate-limit counter keys cleared
    requests_left: int = 0  # still being sent when the erasure had to stop waiting for them


def _verifications_purge_batch(*, before: datetime, batch_size: int) -> int:
    ids = list(Verification.objects.filter(created_at__lt=before).values_list("pk", flat=True)[:batch_size])
    Verification.objects.filter(pk__in=ids).delete()
    return len(ids)


def personal_data_purge(*, budget_seconds: float, now: datetime | None = None) -> Erased:
    """Delete rows created more than the retention period ago, a batch of each kind at a time, until none
    is left or ``budget_seconds`` have passed (the next run goes on from there)."""
    gateway = gateway_settings()
    before = (now or timezone.now()) - timedelta(days=gateway["RETENTION_DAYS"])
    batch_size = gateway["RETENTION_BATCH"]
    deadline = time.monotonic() + budget_seconds
    erased = Erased()
    while True:
        # Verifications first: a request deleted before them would cost each an UPDATE (send_request = NULL).
        verifications = _verifications_purge_batch(before=before, batch_size=batch_size)
        requests = requests_purge_batch(before=before, batch_size=batch_size)
        records = idempotency_records_purge_batch(before=before, batch_size=batch_size)
        erased.verifications += verifications
        erased.requests += requests
        erased.idempotency_records += records
        if not (verifications or requests or records) or time.monotonic() >= deadline:
            return erased


def phone_forget(
    *, raw_phone: str, wait_seconds: float, poll_seconds: float = 1.0, sleep: Callable[[float], None] = time.sleep
) -> Erased:
    """Erase every row about one number, written in any spelling (raises ``InvalidPhone`` for no number).

    A request a worker is sending is deleted once the worker lets go of it: this waits up to ``wait_seconds``
    for that, and reports in ``requests_left`` what it could not delete in time.
    """
    phone = normalize_phone(raw_phone, allowed_regions=EVERY_REGION)
    batch_size = gateway_settings()["RETENTION_BATCH"]
    erased = Erased(phone=phone)
    erased.verifications, _ = Verification.objects.filter(phone=phone).delete()
    erased.idempotency_records = idempotency_records_forget(phone=phone)
    erased.counters = phone_counters_forget(phone=phone)
    deadline = time.monotonic() + wait_seconds
    while True:
        deleted, left = requests_forget_batch(phone=phone, batch_size=batch_size)
        erased.requests += deleted
        erased.requests_left = left
        if not left or (not deleted and time.monotonic() >= deadline):
            return erased
        if not deleted:
            sleep(poll_seconds)
