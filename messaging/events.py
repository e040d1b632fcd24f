"""What operators hear about: log lines and Sentry events for failovers and failures.

Nothing here carries a phone number or token value unmasked.
"""

from __future__ import annotations

import logging
from decimal import Decimal

import sentry_sdk

from common.masking import mask_phone
from messaging.models import Engine, VerifyRequests
from providers.base import SendResult

logger = logging.getLogger("messaging.events")


def _fields(request: VerifyRequests, **more: object) -> dict[str, object]:
    """Structured fields for a log line about ``request`` (JSON logs show them; request_id ties it to the API)."""
    return {"request_id": request.trace_id, "sms_id": request.id, **more}


def failover(request: VerifyRequests, engine: Engine, result: SendResult) -> None:
    logger.warning(
        "failover: request %s to %s, %s failed with %s",
        request.id,
        mask_phone(request.phone),
        engine.name,
        result.error_code,
        extra=_fields(request, engine=engine.name, outcome="failover", error_code=result.error_code),
    )
    with sentry_sdk.new_scope() as scope:
        scope.set_tag("engine", engine.name)
        scope.set_tag("error_code", result.error_code or result.outcome.value)
        scope.set_tag("request_id", str(request.id))
        scope.set_level("warning")
        sentry_sdk.capture_message(f"SMS failover from {engine.name}: {result.error_code}")


def request_failed(request: VerifyRequests, error: str) -> None:
    logger.error(
        "request %s to %s FAILED: %s",
        request.id,
        mask_phone(request.phone),
        error,
        extra=_fields(request, outcome="FAILED"),
    )
    with sentry_sdk.new_scope() as scope:
        scope.set_tag("request_id", str(request.id))
        scope.set_tag("engine", error.split(":", 1)[0] if ":" in error else "none")
        scope.set_tag("error_code", _first_code(error))
        scope.set_level("error")
        sentry_sdk.capture_message("SMS request FAILED")


def _first_code(error: str) -> str:
    parts = error.split(":", 1)
    return parts[1].strip().split(" ", 1)[0] if len(parts) == 2 and parts[1].strip() else "none"


def configuration_error(engine: Engine, error: str, *, code: str = "config_error") -> None:
    """The engine's key, template or set-up was refused: not an outage, an operator must fix it."""
    logger.error("engine %s is misconfigured: %s", engine.name, error, extra={"engine": engine.name})
    with sentry_sdk.new_scope() as scope:
        scope.set_tag("engine", engine.name)
        scope.set_tag("error_code", code)
        scope.set_level("error")
        sentry_sdk.capture_message(f"SMS engine {engine.name} is misconfigured: {code}")


def low_credit(engine: Engine, credit: Decimal, threshold: Decimal | None) -> None:
    logger.warning("engine %s credit %s is below its threshold %s", engine.name, credit, threshold)
    with sentry_sdk.new_scope() as scope:
        scope.set_tag("engine", engine.name)
        scope.set_level("warning")
        scope.set_extra("credit", str(credit))
        scope.set_extra("threshold", str(threshold))
        sentry_sdk.capture_message(f"SMS engine {engine.name} is low on credit")


def credit_changed(engine: Engine, *, empty: bool) -> None:
    if empty:
        logger.warning("engine %s has no credit: skipped until a credit check finds some", engine.name)
    else:
        logger.info("engine %s has credit again", engine.name)
