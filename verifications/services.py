"""Starting, resending, checking and cancelling verifications, and purging old ones.

The send itself goes through messaging (``request_create``) like any /sendsms/ request: same failover, same
attempt log, and ``send_before=expires_at`` so a code still queued when it expires is never sent.
"""

from __future__ import annotations

import functools
import math
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import phonenumbers
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from clients.models import Client
from common import metrics
from common.conf import gateway_settings
from common.exceptions import ApplicationError, RateLimited
from common.phones import InvalidPhone, normalize_phone
from common.sealing import seal, unseal
from messaging.models import Templates
from messaging.services.limits import send_admit
from messaging.services.requests import request_create, template_get
from messaging.services.scores import Outcomes, scores_record
from verifications.codes import code_generate, code_hmac, code_matches
from verifications.models import TestNumber, Verification
from verifications.rescue import verification_carrier

Status = Verification.Status
HTTP_409 = 409
CODE_LENGTHS = range(4, 11)


@dataclass(frozen=True)
class StartResult:
    verification: Verification
    created: bool  # False: the pending verification's code was sent again


def _field_error(field: str, code: str, message: str) -> ApplicationError:
    return ApplicationError(message, code=code, fields={field: [{"code": code, "message": message}]})


def _seconds_until(moment: datetime, now: datetime) -> int:
    return max(1, math.ceil((moment - now).total_seconds()))


def verification_template(*, template_id: int | None) -> Templates:
    """The template to send a code with: the one asked for, or the configured default."""
    template_id = template_id or gateway_settings()["OTP_DEFAULT_TEMPLATE_ID"]
    if not template_id:
        raise _field_error("template_id", "required", "This field is required: no default template is configured.")
    template = template_get(template_id=template_id)
    if "code" not in template.token_names:
        raise _field_error(
            "template_id", "template_without_code", f"Template {template_id} has no 'code' token to put a code in."
        )
    return template


def _code_length(template: Templates) -> int:
    length = template.code_length or gateway_settings()["OTP_CODE_LENGTH"]
    if length not in CODE_LENGTHS:
        raise _field_error(
            "template_id",
            "invalid_code_length",
            f"Template {template.template_id} asks for {length}-digit codes; use 4-10.",
        )
    return int(length)


def fixed_code_get(*, phone: str) -> str | None:
    """The fixed code of a test number (admin rows first, then settings), or None for a real number."""
    code = TestNumber.objects.filter(phone=phone).values_list("code", flat=True).first()
    if code is not None:
        return code
    every_region = tuple(phonenumbers.SUPPORTED_REGIONS)
    for number, fixed in gateway_settings()["TEST_NUMBERS"].items():
        try:
            if normalize_phone(number, allowed_regions=every_region) == phone:
                return str(fixed).strip()
        except InvalidPhone:  # reported by the system check verifications.E002
            continue
    return None


def _send(verification: Verification, *, code: str, ip: str) -> None:
    """Count the send against the limits and queue it; test numbers send nothing and count nothing."""
    if not verification.is_test_number:
        send_admit(client=verification.client, phone=verification.phone, ip=ip)
        verification.send_request = request_create(
            client=verification.client,
            phone=verification.phone,
            template=verification.template,
            tokens={"code": code},
            send_before=verification.expires_at,
        )


@transaction.atomic
def verification_start(*, client: Client, phone: str, template_id: int | None, ip: str) -> StartResult:
    """Send a new code, or the pending verification's same code again once the resend interval has passed."""
    gateway = gateway_settings()
    template = verification_template(template_id=template_id)
    now = timezone.now()
    same = Verification.objects.filter(client=client, phone=phone, template=template)
    _expire(same.filter(status=Status.PENDING, expires_at__lte=now), now=now, template_id=template.template_id)
    pending = same.select_for_update().filter(status=Status.PENDING).first()
    if pending is not None:
        return StartResult(verification_resend(verification=pending, ip=ip, now=now), created=False)

    fixed_code = fixed_code_get(phone=phone)
    code = fixed_code or code_generate(length=_code_length(template))
    verification = Verification(
        id=uuid.uuid4(),
        client=client,
        phone=phone,
        template=template,
        is_test_number=fixed_code is not None,
        expires_at=now + timedelta(seconds=gateway["OTP_TTL_SECONDS"]),
        send_count=1,
        last_sent_at=now,
        created_at=now,
        updated_at=now,
    )
    verification.code_hash = code_hmac(verification_id=verification.id, code=code)
    verification.code_sealed = "" if fixed_code else seal(code)
    _send(verification, code=code, ip=ip)
    try:
        with transaction.atomic():
            verification.save(force_insert=True)
    except IntegrityError as exc:
        # Another request created the pending verification a moment ago and sent its code; this whole
        # transaction (our send request included) rolls back.
        raise _resend_too_soon(gateway["OTP_RESEND_INTERVAL_SECONDS"]) from exc
    transaction.on_commit(functools.partial(metrics.count_verification, template.template_id, "started"))
    return StartResult(verification, created=True)


def verification_resend(*, verification: Verification, ip: str, now: datetime) -> Verification:
    """Send the same code again. The caller holds the row locked (select_for_update) in a transaction."""
    gateway = gateway_settings()
    if verification.send_count >= gateway["OTP_MAX_SENDS"]:
        wait = _seconds_until(verification.expires_at, now)
        raise RateLimited(
            f"This code was sent {verification.send_count} times; start a new verification after it expires, "
            f"in {wait} seconds.",
            code="max_sends_reached",
            retry_after=wait,
        )
    resend_at = (verification.last_sent_at or now) + timedelta(seconds=gateway["OTP_RESEND_INTERVAL_SECONDS"])
    if now < resend_at:
        wait = _seconds_until(resend_at, now)
        raise _resend_too_soon(wait)
    code = "" if verification.is_test_number else unseal(verification.code_sealed)
    _send(verification, code=code, ip=ip)
    verification.send_count = F("send_count") + 1
    verification.last_sent_at = verification.updated_at = now
    verification.save(update_fields=["send_count", "last_sent_at", "updated_at", "send_request"])
    verification.refresh_from_db()
    return verification


def _resend_too_soon(wait: int) -> RateLimited:
    return RateLimited(f"A code was just sent; retry after {wait} seconds.", code="resend_too_soon", retry_after=wait)


def _expire(queryset: Any, *, now: datetime, template_id: int) -> int:
    expired = int(queryset.update(status=Status.EXPIRED, code_sealed="", completed_at=now, updated_at=now))
    if expired:
        metrics.count_verification(template_id, "expired")
    return expired


def verification_check(*, verification: Verification, code: str) -> Verification:
    """Approve the verification if ``code`` is its code. Safe under any number of concurrent checks.

    Every change is a compare-and-set UPDATE on ``status='pending'`` (and the attempt count), so of twenty
    simultaneous checks with the right code exactly one approves; the others see it approved and get a 409.
    """
    max_checks = gateway_settings()["OTP_MAX_CHECKS"]
    now = timezone.now()
    if verification.status == Status.APPROVED:
        raise _already_approved()
    rows = Verification.objects.filter(pk=verification.pk)
    live = rows.filter(status=Status.PENDING, expires_at__gt=now, failed_checks__lt=max_checks)
    if code_matches(verification_id=verification.id, code=code, code_hash=verification.code_hash):
        if live.update(status=Status.APPROVED, code_sealed="", completed_at=now, updated_at=now):
            metrics.count_verification(verification.template.template_id, "approved")
            verification.refresh_from_db()
            _score_approval(verification)
            return verification
    else:
        live.update(failed_checks=F("failed_checks") + 1, updated_at=now)
        if rows.filter(status=Status.PENDING, failed_checks__gte=max_checks).update(
            status=Status.MAX_ATTEMPTS_REACHED, code_sealed="", completed_at=now, updated_at=now
        ):
            metrics.count_verification(verification.template.template_id, "locked")
    _expire(
        rows.filter(status=Status.PENDING, expires_at__lte=now), now=now, template_id=verification.template.template_id
    )
    verification.refresh_from_db()
    if verification.status == Status.APPROVED:
        raise _already_approved()
    return verification


def _score_approval(verification: Verification) -> None:
    """An approved code reached the handset: the adaptive routing counts it for the engine that carried it."""
    carrier = verification_carrier(verification=verification)
    if carrier is not None and carrier.system_id is not None:
        learned = Outcomes()
        learned.code_approved(carrier.system_id, carrier.operator)
        scores_record(learned)


def _already_approved() -> ApplicationError:
    # A code is good for one approval: a replayed check must never read "approved" again.
    return ApplicationError(
        "This verification was already approved; a code approves once.", code="already_approved", status_code=HTTP_409
    )


def verification_attempts_left(*, verification: Verification) -> int:
    if verification.current_status() != Status.PENDING:
        return 0
    return max(0, gateway_settings()["OTP_MAX_CHECKS"] - verification.failed_checks)


def verification_resend_after(*, verification: Verification) -> datetime | None:
    if verification.current_status() != Status.PENDING or verification.last_sent_at is None:
        return None
    if verification.send_count >= gateway_settings()["OTP_MAX_SENDS"]:
        return None
    return verification.last_sent_at + timedelta(seconds=gateway_settings()["OTP_RESEND_INTERVAL_SECONDS"])


def verification_cancel(*, verification: Verification) -> Verification:
    now = timezone.now()
    rows = Verification.objects.filter(pk=verification.pk, status=Status.PENDING)
    _expire(rows.filter(expires_at__lte=now), now=now, template_id=verification.template.template_id)
    if rows.update(status=Status.CANCELED, code_sealed="", completed_at=now, updated_at=now):
        metrics.count_verification(verification.template.template_id, "canceled")
    verification.refresh_from_db()
    if verification.status != Status.CANCELED:
        raise ApplicationError(
            f"This verification is {verification.status}; only a pending verification can be canceled.",
            code="not_pending",
            status_code=HTTP_409,
        )
    return verification


def verifications_purge(*, now: datetime | None = None) -> int:
    """Delete verifications whose code expired more than the retention period ago, whatever their status."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=gateway_settings()["OTP_RETENTION_DAYS"])
    deleted, _ = Verification.objects.filter(expires_at__lt=cutoff).delete()
    return deleted
