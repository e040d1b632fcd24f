"""Personal data in send requests: finished requests deleted after the retention period, one number's erased.

A request's attempts go with it (they hold no phone, but belong to one). A request being sent (``SENDING``:
a worker holds it, a provider call may be in flight) is never deleted under its worker; its erasure waits
until the worker lets go.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction

from messaging.models import VerifyRequests

Flag = VerifyRequests.Flag
_FINAL = (Flag.DONE, Flag.FAILED)


def requests_purge_batch(*, before: datetime, batch_size: int) -> int:
    """Delete up to ``batch_size`` finished requests created before ``before``, with their attempts."""
    with transaction.atomic():
        ids = list(
            VerifyRequests.objects.filter(created_at__lt=before, flag__in=_FINAL)
            .order_by("created_at")
            .select_for_update(skip_locked=True)  # an operator re-queuing one waits, then finds it gone
            .values_list("pk", flat=True)[:batch_size]
        )
        if ids:
            VerifyRequests.objects.filter(pk__in=ids).delete()
    return len(ids)


def requests_forget_batch(*, phone: str, batch_size: int) -> tuple[int, int]:
    """Delete up to ``batch_size`` requests to one E.164 number that no worker holds, with their attempts.

    Return (deleted, left): ``left`` counts the number's requests still there (being sent, or beyond this
    batch). Rows are locked, skipping those a worker is claiming, so no claim wins a row deleted here.
    """
    with transaction.atomic():
        ids = list(
            VerifyRequests.objects.filter(phone=phone)
            .exclude(flag=Flag.SENDING)
            .select_for_update(skip_locked=True)
            .values_list("pk", flat=True)[:batch_size]
        )
        if ids:
            VerifyRequests.objects.filter(pk__in=ids).delete()
    return len(ids), VerifyRequests.objects.filter(phone=phone).count()
