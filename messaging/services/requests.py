"""Accepting, re-queueing and sweeping send requests."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from clients.models import Client
from common import logs, metrics
from common.conf import gateway_settings
from common.exceptions import ApplicationError
from common.memo import Memo
from common.phones import phone_operator
from common.sealing import seal
from messaging.models import Templates, VerifyRequests
from messaging.publishing import publish_now, publish_requests
from messaging.rowwrites import insert_many
from messaging.services.outcomes import requests_reclaim_expired
from messaging.services.pump import pump_wake

Flag = VerifyRequests.Flag
# Kavenegar refuses whitespace in token, token2 and token3, and both providers choke on markup and
# control characters: letters (any script), digits, and - _ . are what every provider accepts.
_TOKEN_CHARS = re.compile(r"^[\w\-.]+$")


def _field_error(field: str, code: str, message: str) -> ApplicationError:
    return ApplicationError(message, code=code, fields={field: [{"code": code, "message": message}]})


# Templates change rarely and every accepted request reads one: each process keeps them for a few
# seconds. A save or delete in this process clears them at once (messaging.signals); other processes
# see an edit within TEMPLATE_CACHE_SECONDS.
TEMPLATE_CACHE_SECONDS = 5.0
_templates: Memo[int, Templates] = Memo(TEMPLATE_CACHE_SECONDS)


def template_get(*, template_id: int) -> Templates:
    cached = _templates.get(template_id)
    if cached is not None:
        return cached
    template = Templates.objects.filter(template_id=template_id).first()
    if template is None:
        raise _field_error("template_id", "unknown_template", f"There is no template {template_id}.")
    return _templates.put(template_id, template)


def template_tokens(*, template: Templates, token_value: Any) -> dict[str, str]:
    """Check the client's tokens against the template and return them as name -> value."""
    names: list[str] = list(template.token_names)
    if isinstance(token_value, list):
        if len(token_value) != len(names):
            raise _field_error(
                "token_value",
                "token_count_mismatch",
                f"Template {template.template_id} takes {len(names)} token(s) in this order: {', '.join(names)}.",
            )
        token_value = dict(zip(names, token_value, strict=True))
    if not isinstance(token_value, dict):
        raise _field_error("token_value", "invalid_type", "token_value must be an object or a list.")
    unknown = sorted(set(token_value) - set(names))
    if unknown:
        raise _field_error("token_value", "unknown_token", f"Unknown token name(s): {', '.join(unknown)}.")
    missing = [name for name in names if name not in token_value]
    if missing:
        raise _field_error("token_value", "missing_token", f"Missing token(s): {', '.join(missing)}.")
    limit = gateway_settings()["TOKEN_MAX_LENGTH"]
    tokens: dict[str, str] = {}
    for name in names:
        value = token_value[name]
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise _field_error(f"token_value.{name}", "invalid_type", "A token value must be a string.")
        text = str(value).strip()
        if not text:
            raise _field_error(f"token_value.{name}", "empty_token", "A token value may not be empty.")
        if len(text) > limit:
            raise _field_error(f"token_value.{name}", "token_too_long", f"A token value is at most {limit} characters.")
        if not _TOKEN_CHARS.match(text):
            raise _field_error(
                f"token_value.{name}",
                "token_invalid_characters",
                "A token value may hold letters, digits, '-', '_' and '.' only (no spaces).",
            )
        tokens[name] = text
    return tokens


def request_create(
    *,
    client: Client,
    phone: str,
    template: Templates,
    tokens: dict[str, str],
    send_before: datetime | None = None,
    channel: str = VerifyRequests.Channel.SMS,
    rescue_of: VerifyRequests | None = None,
) -> VerifyRequests:
    """Store an accepted request and publish it once committed. ``phone`` is already E.164.

    ``rescue_of``: the earlier send of the same verification code that did not arrive (its engine goes last).

    One INSERT is atomic by itself: outside a caller's transaction it commits at once, with no BEGIN
    and COMMIT round trips around it.
    """
    now = timezone.now()
    request = VerifyRequests(
        request_sender=client,
        phone=phone,
        operator=phone_operator(phone),
        template=template,
        token_value=seal(tokens),
        send_before=send_before,
        trace_id=logs.current_request_id(),
        channel=channel,
        rescue_of=rescue_of,
        next_attempt_at=now,
        created_at=now,
        queued_at=now,
    )
    insert_many([request])  # what create() does, without compiling the INSERT through the ORM each time
    requests_announce([request.id])
    metrics.count_accepted(template.template_id)
    return request


def requests_announce(request_ids: list[int]) -> None:
    """Tell the workers, once committed, that these requests are due now."""
    if gateway_settings()["PUMP_ENABLED"]:
        transaction.on_commit(pump_wake)
    else:
        publish_requests(request_ids)


@transaction.atomic
def requests_requeue(*, request_ids: Sequence[int]) -> int:
    """Give FAILED requests a fresh set of rounds (the admin's re-queue action)."""
    now = timezone.now()
    ids = list(VerifyRequests.objects.filter(id__in=request_ids, flag=Flag.FAILED).values_list("id", flat=True))
    count = VerifyRequests.objects.filter(id__in=ids, flag=Flag.FAILED).update(
        flag=Flag.PENDING, rounds=0, next_attempt_at=now, queued_at=now, completed_at=None, updated_at=now
    )
    requests_announce(ids)
    return count


def requests_sweep(*, now: datetime | None = None) -> int:
    """Publish every waiting request that is due; take back requests from dead workers first.

    Requests due for less than the grace period are left alone: their own publish is still on its way.
    """
    now = now or timezone.now()
    gateway = gateway_settings()
    requests_reclaim_expired(now=now)
    due = list(
        VerifyRequests.objects.filter(
            flag=Flag.PENDING, next_attempt_at__lte=now - timedelta(seconds=gateway["SWEEP_GRACE_SECONDS"])
        )
        .order_by("next_attempt_at")
        .values_list("id", flat=True)[: gateway["SWEEP_BATCH"]]
    )
    return publish_now(due) if due else 0
