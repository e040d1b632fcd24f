"""Reading each engine's credit from its provider (task ``messaging.check_engine_credit``, run by beat)."""

from __future__ import annotations

import logging

from django.utils import timezone

from messaging.models import Engine
from messaging.services import accounts
from messaging.services.routes import engine_adapter
from messaging.transport import CreditJob, call_all
from providers.exceptions import AccountProblem, ProviderConfigurationError
from providers.reporting import CreditResult

logger = logging.getLogger(__name__)


def credit_check_all() -> int:
    """Ask every enabled engine's provider for its credit and store it; return how many answered."""
    jobs: list[CreditJob] = []
    engines: list[Engine] = []
    for engine in Engine.objects.filter(enabled=True):
        try:
            adapter = engine_adapter(engine)
        except ProviderConfigurationError as exc:
            accounts.configuration_error(engine=engine, code="config_error", message=str(exc))
            continue
        jobs.append(CreditJob(adapter, engine.id, engine.max_in_flight))
        engines.append(engine)
    if not jobs:
        return 0
    longest = max(job.adapter.max_call_seconds for job in jobs)
    now = timezone.now()
    answered = 0
    for engine, result in zip(engines, call_all(jobs, timeout=longest + 1.0), strict=True):
        if isinstance(result, CreditResult) and result.credit is not None:
            accounts.credit_store(engine=engine, credit=result.credit, now=now)
            answered += 1
        elif isinstance(result, CreditResult) and result.problem is AccountProblem.CONFIGURATION:
            accounts.configuration_error(engine=engine, code=result.error_code, message=result.error_message)
        else:  # down, slow or garbage: the last reading stands
            code = result.error_code if isinstance(result, CreditResult) else "no_answer"
            logger.warning("credit check of %s failed: %s", engine.name, code)
    return answered
