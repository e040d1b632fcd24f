"""System checks: a broken provider set-up is reported at start, not at the first send."""

from __future__ import annotations

from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.fernet import InvalidToken
from django.conf import settings
from django.core.checks import Error, Warning, register
from django.db import DatabaseError

from common.conf import gateway_settings
from providers.registry import ADAPTERS


@register("sms_gateway")
def check_lease(app_configs: Any = None, **kwargs: Any) -> list[Any]:
    """A claim's lease must outlive any task that can hold it, or a second worker could send it again."""
    lease = gateway_settings()["LEASE_SECONDS"]
    limit = settings.CELERY_TASK_TIME_LIMIT
    if lease <= limit:
        return [
            Error(
                f"SMS_LEASE_SECONDS ({lease}) must be longer than CELERY_TASK_TIME_LIMIT ({limit}).",
                hint="A request whose lease expires while its task still runs may be sent twice.",
                id="sms.E004",
            )
        ]
    return []


@register("sms_gateway")
def check_database_wait(app_configs: Any = None, **kwargs: Any) -> list[Any]:
    """A task waiting on a database that stopped answering must give up (a 503's reason, a task's retry)
    before Celery's soft time limit ends it from outside, so the time limits stay a last resort."""
    answer = settings.DB_ANSWER_TIMEOUT
    soft = settings.CELERY_TASK_SOFT_TIME_LIMIT
    if answer and answer >= soft:
        return [
            Error(
                f"DB_STATEMENT_TIMEOUT + 2 s ({answer:g}) must be shorter than CELERY_TASK_SOFT_TIME_LIMIT ({soft}).",
                hint="Lower DB_STATEMENT_TIMEOUT or raise the task time limits (and the lease with them).",
                id="sms.E006",
            )
        ]
    return []


@register("sms_gateway", deploy=False)
def check_engines(app_configs: Any = None, **kwargs: Any) -> list[Any]:
    from messaging.models import Engine

    problems: list[Any] = []
    lease = gateway_settings()["LEASE_SECONDS"]
    try:
        engines = list(Engine.objects.filter(enabled=True))
    except DatabaseError:  # before the first migrate there is nothing to check
        return problems
    except (InvalidTag, InvalidToken):
        return [
            Error(
                "A provider key cannot be opened with any of TOKEN_SEAL_KEYS.",
                hint="Keep the key the values were sealed with in TOKEN_SEAL_KEYS until `manage.py reseal` has run.",
                id="sms.E006",
            )
        ]
    for engine in engines:
        if engine.kind not in ADAPTERS:
            problems.append(Error(f"Engine {engine.name!r} has unknown kind {engine.kind!r}.", id="sms.E001"))
        if not engine.provider_token:
            problems.append(Error(f"Engine {engine.name!r} has no provider token.", id="sms.E002"))
        if engine.read_timeout <= 0 or engine.connect_timeout <= 0:
            problems.append(Error(f"Engine {engine.name!r} needs positive timeouts.", id="sms.E003"))
        elif 2 * (engine.connect_timeout + engine.read_timeout + 1) > lease:
            # A call starts only if it can end inside the claim's lease (messaging.transport): with calls
            # this long, most claims would be given back unsent.
            problems.append(
                Error(
                    f"Engine {engine.name!r}: twice its connect + read timeout (+1 s) must fit in "
                    f"SMS_LEASE_SECONDS ({lease}).",
                    id="sms.E005",
                )
            )
    if not engines:
        problems.append(Warning("No enabled engine: requests will fail.", id="sms.W001"))
    return problems
