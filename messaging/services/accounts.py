"""An engine's account at its provider: its credit, and whether the provider refused its key or template.

Neither is an outage. The send still fails over, but the engine's row says what is wrong, so an operator
sees "out of credit" or "key refused (10)" instead of a run of failures, and Sentry hears of it once.
An engine known to have no credit is skipped without a call until a credit check or a send says otherwise.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal

from django.core.cache import cache
from django.db.models import Q
from django.utils import timezone

from common import metrics
from messaging import events
from messaging.models import Engine
from messaging.services.routes import routes_changed
from providers.base import Outcome, SendResult
from providers.exceptions import AccountProblem

logger = logging.getLogger(__name__)

# Sentry hears of one engine's configuration error with one code at most this often.
CONFIG_ERROR_REPORT_SECONDS = 3600
_REPORTED_KEY = "sms:config-error:{engine_id}:{code}"


def accounts_record(results: Iterable[tuple[Engine, SendResult]]) -> None:
    """After a batch of sends: note what the failures say about each account, and clear what a success
    disproves. ``Engine`` objects are the routes' (possibly a few seconds old): writes are guarded in SQL."""
    seen: set[tuple[int, str]] = set()
    for engine, result in results:
        if result.outcome is Outcome.SENT:
            if (engine.id, "sent") not in seen and (engine.out_of_credit or engine.config_error_code):
                seen.add((engine.id, "sent"))
                account_healthy(engine_id=engine.id)
        elif result.problem is AccountProblem.OUT_OF_CREDIT and (engine.id, "credit") not in seen:
            seen.add((engine.id, "credit"))
            credit_store(engine=engine, credit=Decimal(0))
        elif result.problem is AccountProblem.CONFIGURATION and (engine.id, result.error_code) not in seen:
            seen.add((engine.id, result.error_code))
            configuration_error(engine=engine, code=result.error_code, message=result.error_message)


def account_healthy(*, engine_id: int) -> None:
    """A send went through: the engine has credit and a working key."""
    changed = Engine.objects.filter(Q(out_of_credit=True) | ~Q(config_error_code=""), id=engine_id).update(
        out_of_credit=False, config_error_code="", config_error_at=None
    )
    if changed:
        routes_changed()


def configuration_error(*, engine: Engine, code: str, message: str = "") -> None:
    """The provider refused this engine's key or template: say so on its row, and to Sentry once an hour."""
    metrics.count_configuration_error(engine.name, code)  # every occurrence; Sentry hears of the first
    now = timezone.now()
    Engine.objects.filter(id=engine.id).exclude(config_error_code=code).update(
        config_error_code=code[:32], config_error_at=now
    )
    try:
        first = cache.add(_REPORTED_KEY.format(engine_id=engine.id, code=code), 1, CONFIG_ERROR_REPORT_SECONDS)
    except Exception as exc:  # cache down: the row still says it; Sentry would be flooded without the gate
        logger.warning("configuration error on %s (%s) not reported: %s", engine.name, code, type(exc).__name__)
        return
    if first:
        events.configuration_error(engine, f"{code} {message}".strip(), code=code)


def credit_store(*, engine: Engine, credit: Decimal, now: datetime | None = None) -> None:
    """Store a credit reading (a credit check's, or 0 after the provider said "no credit").

    Crossing the engine's low-credit threshold downwards warns once; the warning re-arms when the credit
    is back at or above it. Both are compare-and-set updates, so two workers never warn twice.
    """
    now = now or timezone.now()
    empty = credit <= 0
    flipped = Engine.objects.filter(id=engine.id).exclude(out_of_credit=empty).update(out_of_credit=empty)
    Engine.objects.filter(id=engine.id).update(credit=credit, credit_read_at=now)
    if flipped:
        events.credit_changed(engine, empty=empty)
        routes_changed()  # every worker skips it, or tries it again, at its next batch
    crossed = Engine.objects.filter(id=engine.id, credit_low=False, low_credit_threshold__gt=credit).update(
        credit_low=True
    )
    if crossed:
        threshold = Engine.objects.values_list("low_credit_threshold", flat=True).get(id=engine.id)
        events.low_credit(engine, credit, threshold)
    Engine.objects.filter(id=engine.id, credit_low=True).exclude(low_credit_threshold__gt=credit).update(
        credit_low=False
    )
