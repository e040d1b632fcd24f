"""Rescue of verification codes that do not arrive, before the user has to ask for another.

A pending verification whose template has ``rescue`` on is rescued when the provider reports its SMS
undelivered (or failed, or blocked), or has not reported it delivered ``RESCUE_AFTER_SECONDS`` after taking it:
the same code is sent once more, through the next-best engine (the one that did not deliver goes last). If that
one does not arrive either and the template has ``voice_rescue`` on, the code is read out in a call by an engine
that can call; where the provider refuses the call (Kavenegar's 428), that engine sends it by SMS.

Never after the verification is approved, expired or canceled, nor past ``OTP_MAX_SENDS``: a rescue is a send.
Rescues are not counted against the rate limits (at most two per verification, and never asked for by a
client). Each rescue is a send request of its own (``rescue_of`` names the one it rescues), so its attempts say
why each engine was tried.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from common import metrics
from common.conf import gateway_settings
from common.sealing import unseal
from messaging.models import VerifyRequests
from messaging.services.requests import request_create
from verifications.models import Verification

Delivery = VerifyRequests.Delivery
Channel = VerifyRequests.Channel
NOT_ARRIVED = (Delivery.UNDELIVERED, Delivery.FAILED, Delivery.BLOCKED)
# One SMS rescue, then (where the template allows it) one call.
MAX_RESCUES = 2


def _due(now: datetime) -> QuerySet[Verification]:
    config = gateway_settings()
    late = now - timedelta(seconds=config["RESCUE_AFTER_SECONDS"])
    return Verification.objects.filter(
        Q(rescues=0) | Q(rescues=1, template__voice_rescue=True),
        Q(send_request__delivery_state__in=NOT_ARRIVED)
        | Q(send_request__delivery_state=Delivery.PENDING, send_request__completed_at__lte=late),
        status=Verification.Status.PENDING,
        expires_at__gt=now,
        is_test_number=False,
        template__rescue=True,
        send_count__lt=config["OTP_MAX_SENDS"],
        send_request__flag=VerifyRequests.Flag.DONE,
    )


def verifications_rescue(*, now: datetime | None = None, limit: int = 500) -> int:
    """Rescue every verification that is due; return how many got another send. Safe to run concurrently."""
    now = now or timezone.now()
    rescued = 0
    for verification_id in list(_due(now).order_by("created_at").values_list("id", flat=True)[:limit]):
        rescued += _rescue(verification_id, now=now)
    return rescued


@transaction.atomic
def _rescue(verification_id: uuid.UUID, *, now: datetime) -> bool:
    # Locked and checked again: a check, a resend or another rescuer may have changed it since the query.
    verification = (
        _due(now)
        .select_for_update(skip_locked=True, of=("self",))
        .select_related("template", "client", "send_request")
        .filter(id=verification_id)
        .first()
    )
    if verification is None:
        return False
    channel = Channel.SMS if verification.rescues == 0 else Channel.CALL
    request = request_create(
        client=verification.client,
        phone=verification.phone,
        template=verification.template,
        tokens={"code": unseal(verification.code_sealed)},
        send_before=verification.expires_at,
        channel=channel,
        rescue_of=verification.send_request,
    )
    Verification.objects.filter(pk=verification.pk).update(
        send_request=request,
        rescues=verification.rescues + 1,
        send_count=verification.send_count + 1,
        last_sent_at=now,
        updated_at=now,
    )
    transaction.on_commit(lambda: metrics.count_verification(verification.template.template_id, f"rescued_{channel}"))
    return True


def verification_carrier(*, verification: Verification) -> VerifyRequests | None:
    """The send that most likely carried the code: the newest one reported delivered, else the newest the provider
    took. Walks the verification's sends back through ``rescue_of`` (at most three)."""
    sends: list[VerifyRequests] = []
    request = verification.send_request
    while request is not None and len(sends) <= MAX_RESCUES:
        sends.append(request)
        request = request.rescue_of
    delivered = [send for send in sends if send.delivery_state == Delivery.DELIVERED]
    taken = [send for send in sends if send.flag == VerifyRequests.Flag.DONE]
    chosen = delivered or taken
    return chosen[0] if chosen else None
