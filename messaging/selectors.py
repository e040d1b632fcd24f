"""Read paths for the API and admin."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from clients.models import Client
from messaging.models import Attempt, VerifyRequests


def request_list(
    *, client: Client, flag: str | None = None, phone: str | None = None, delivery: str | None = None
) -> QuerySet[VerifyRequests]:
    # Engines' keys stay sealed in read paths: opening one costs microseconds per row, and only the name is shown.
    queryset = (
        VerifyRequests.objects.filter(request_sender=client).select_related("system").defer("system__provider_token")
    )
    if flag:
        # Clients see in-flight requests as PENDING, so filtering by PENDING includes them.
        flags = [flag, VerifyRequests.Flag.SENDING] if flag == VerifyRequests.Flag.PENDING else [flag]
        queryset = queryset.filter(flag__in=flags)
    if phone:
        queryset = queryset.filter(phone=phone)
    if delivery:
        queryset = queryset.filter(delivery_state=delivery)
    return queryset.order_by("-created_at", "-id")


def request_get(*, client: Client, request_id: int) -> VerifyRequests | None:
    engines = Attempt.objects.select_related("engine").defer("engine__provider_token")
    attempts = Prefetch("attempts", queryset=engines.order_by("created_at", "id"))
    return (
        VerifyRequests.objects.filter(request_sender=client, id=request_id)
        .select_related("system")
        .defer("system__provider_token")
        .prefetch_related(attempts)
        .first()
    )
