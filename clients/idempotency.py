"""``Idempotency-Key``: a client may retry a POST safely; the first successful answer is replayed (Stripe's model).

The same key with the same request replays the stored answer (status, body, ``Location``) for 24 hours and runs
nothing again; the same key with another request is refused with 422. Keys belong to one client.

Concurrency comes from the unique constraint on (client, key): the record is inserted *before* the handler runs,
in the handler's own transaction. A concurrent request with the same key blocks on that insert (PostgreSQL waits
on the uncommitted unique entry; SQLite's IMMEDIATE transactions wait for the write lock) until the first commits,
then fails the insert and replays what the first stored. If the first fails (an error answer, an exception), its
transaction rolls back, the key stays free and the next retry runs normally: only 2xx answers are kept.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from clients.models import Client, IdempotencyRecord
from common.exceptions import ApplicationError

HEADER = "Idempotency-Key"
KEY_MAX_LENGTH = 255
# 1-255 printable ASCII characters, spaces only inside (a server trims them off the ends of any header).
KEY_PATTERN = r"^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$"
_KEY = re.compile(KEY_PATTERN)
RETENTION = timedelta(hours=24)
# Headers of the first answer a replay repeats; the rest (dates, lengths) are the replay's own.
_REPLAYED_HEADERS = ("Location",)


class _Unsuccessful(Exception):
    """Carries a non-2xx answer out of the transaction so the key's record rolls back with it."""

    def __init__(self, response: Response) -> None:
        self.response = response


def _header_error(code: str, message: str, status_code: int = 400) -> ApplicationError:
    return ApplicationError(
        message, code=code, status_code=status_code, fields={HEADER: [{"code": code, "message": message}]}
    )


def idempotency_key(request: Request) -> str | None:
    """The request's ``Idempotency-Key`` header, checked; None when the client sent none."""
    key = request.headers.get(HEADER)
    if key is None:
        return None
    key = key.strip()
    if not key:
        raise _header_error("invalid_idempotency_key", f"{HEADER} may not be empty.")
    if len(key) > KEY_MAX_LENGTH:
        raise _header_error("idempotency_key_too_long", f"{HEADER} is at most {KEY_MAX_LENGTH} characters.")
    if not _KEY.match(key):
        raise _header_error("invalid_idempotency_key", f"{HEADER} is printable ASCII characters only.")
    return key


def request_fingerprint(*, method: str, path: str, data: Any) -> str:
    canonical = json.dumps([method.upper(), path, data], sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def idempotent_response(request: Request, *, client: Client, handler: Callable[[], Response]) -> Response:
    """Run ``handler`` once per (client, ``Idempotency-Key``); replay its 2xx answer for later retries.

    Without the header, ``handler`` simply runs. Call it from a view's ``post`` with the view's own logic as
    ``handler``; whatever the handler raises propagates unchanged (and nothing is stored).
    """
    key = idempotency_key(request)
    if key is None:
        return handler()
    fingerprint = request_fingerprint(method=request.method or "", path=request.path, data=request.data)
    try:
        return _run_once(client=client, key=key, fingerprint=fingerprint, handler=handler)
    except _Unsuccessful as failed:
        return failed.response


@transaction.atomic
def _run_once(*, client: Client, key: str, fingerprint: str, handler: Callable[[], Response]) -> Response:
    now = timezone.now()
    try:
        with transaction.atomic():
            record = IdempotencyRecord.objects.create(
                client=client, key=key, fingerprint=fingerprint, status_code=0, body={}, created_at=now
            )
    except IntegrityError:
        existing = IdempotencyRecord.objects.get(client=client, key=key)
        if existing.created_at > now - RETENTION:
            return _replay(existing, fingerprint)
        # Past its 24 hours the key is new again; the purge had not reached it yet.
        existing.delete()
        record = IdempotencyRecord.objects.create(
            client=client, key=key, fingerprint=fingerprint, status_code=0, body={}, created_at=now
        )
    response = handler()
    if not 200 <= response.status_code < 300:
        raise _Unsuccessful(response)
    record.status_code = response.status_code
    # As the client saw it: DRF's renderer turns dates, UUIDs and decimals into JSON the way the answer did.
    record.body = json.loads(JSONRenderer().render(response.data))
    record.headers = {name: response[name] for name in _REPLAYED_HEADERS if response.has_header(name)}
    record.save(update_fields=["status_code", "body", "headers"])
    return response


def _replay(record: IdempotencyRecord, fingerprint: str) -> Response:
    if record.fingerprint != fingerprint:
        raise _header_error(
            "idempotency_key_reused",
            f"This {HEADER} was already used with a different request; use a new key for a new request.",
            status_code=422,
        )
    return Response(record.body, status=record.status_code, headers={**record.headers, "Idempotent-Replayed": "true"})


def idempotency_records_purge(*, now: datetime | None = None) -> int:
    """Delete records past their 24 hours; return how many."""
    cutoff = (now or timezone.now()) - RETENTION
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()
    return deleted


def idempotency_records_purge_batch(*, before: datetime, batch_size: int) -> int:
    """Delete up to ``batch_size`` records created before ``before`` (the retention purge's share)."""
    ids = list(IdempotencyRecord.objects.filter(created_at__lt=before).values_list("pk", flat=True)[:batch_size])
    IdempotencyRecord.objects.filter(pk__in=ids).delete()
    return len(ids)


def idempotency_records_forget(*, phone: str) -> int:
    """Delete every record whose stored answer shows one E.164 number; return how many."""
    deleted, _ = IdempotencyRecord.objects.filter(body__phone=phone).delete()
    return deleted
