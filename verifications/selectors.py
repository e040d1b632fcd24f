"""Read paths for the verification API and admin. The API finds only a client's own verifications; the
conversion figures (every client's) are for the admin's provider-health page."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Q

from clients.models import Client
from messaging.models import Attempt, Templates
from verifications.models import Verification
from verifications.rescue import verification_carrier


def verification_get(*, client: Client, verification_id: uuid.UUID) -> Verification | None:
    return (
        Verification.objects.filter(client=client, id=verification_id)
        .select_related("template", "send_request")
        .first()
    )


def verification_latest(*, client: Client, phone: str, template: Templates) -> Verification | None:
    return (
        Verification.objects.filter(client=client, phone=phone, template=template)
        .select_related("template")
        .order_by("-created_at")
        .first()
    )


@dataclass(frozen=True)
class TemplateConversion:
    template_id: int
    name: str
    started: int
    approved: int

    @property
    def share(self) -> float:
        return self.approved / self.started


def conversion_by_template(*, since: datetime) -> list[TemplateConversion]:
    """Verifications started since ``since`` per template, and how many of them were approved."""
    rows = (
        Verification.objects.filter(created_at__gte=since)
        .values("template__template_id", "template__name")
        .annotate(started=Count("id"), approved=Count("id", filter=Q(status=Verification.Status.APPROVED)))
        .order_by("template__template_id")
    )
    return [
        TemplateConversion(row["template__template_id"], row["template__name"], row["started"], row["approved"])
        for row in rows
    ]


def verification_carried_by(*, verification: Verification) -> dict[str, object] | None:
    """The send that carried the code, its engine and channel (that of its accepted attempt: a refused call is
    an SMS); None when no provider took any."""
    carrier = verification_carrier(verification=verification)
    if carrier is None or carrier.system_id is None:
        return None
    attempt = (
        Attempt.objects.filter(request_id=carrier.id, outcome=Attempt.Outcome.SENT)
        .select_related("engine")
        .order_by("-id")
        .first()
    )
    if attempt is None:
        return None
    return {
        "send_request_id": carrier.id,
        "engine": attempt.engine.name,
        "channel": attempt.channel,
        "rescue": carrier.rescue_of_id is not None,
    }
