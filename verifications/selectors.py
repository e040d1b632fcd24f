"""Read paths for the verification API and admin. A client only ever finds its own verifications."""

from __future__ import annotations

import uuid

from clients.models import Client
from messaging.models import Templates
from verifications.models import Verification


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
