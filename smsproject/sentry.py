"""Sentry set-up. Off unless a DSN is given; never sends personal data unmasked."""

from __future__ import annotations

from typing import Any

from common.masking import scrub_event


def init_sentry(*, dsn: str, environment: str, transport: Any = None) -> None:
    if not dsn and transport is None:
        return
    import sentry_sdk
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.django import DjangoIntegration
    from sentry_sdk.integrations.logging import LoggingIntegration

    options: dict[str, Any] = {
        "dsn": dsn or "http://public@127.0.0.1:9/1",
        "environment": environment,
        "send_default_pii": False,
        "before_send": scrub_event,
        "before_breadcrumb": lambda crumb, hint: scrub_event(crumb, hint),
        # Failover warnings and FAILED errors are sent explicitly with tags; plain log
        # records stay breadcrumbs so one outage does not become thousands of events.
        "integrations": [
            DjangoIntegration(),
            CeleryIntegration(),
            LoggingIntegration(event_level=None),
        ],
    }
    if transport is not None:
        options["transport"] = transport
    sentry_sdk.init(**options)
