"""Delivery reports: ask each provider what became of the messages it accepted.

A request that ends ``DONE`` gets ``delivery_state`` "pending" and a first look ``REPORTS_FIRST_POLL_SECONDS``
later (``outcomes.finish_many``). The poller (task ``messaging.poll_delivery_reports``, run by beat) claims
due requests in one statement that moves their ``report_next_at`` past a lease: the claim is a
compare-and-set (``SKIP LOCKED`` on PostgreSQL; SQLite's single writer serialises claims), so two workers
never ask about the same message at once, no row lock is held while a provider answers, and the requests of a
worker that dies are due again when the lease ends.

Then each engine is asked in the batches its adapter allows (Kavenegar 500 ids a call, SMS.IR one), all
calls concurrently under the engine's cap. A final state ends the polling; otherwise the next look backs off
(``REPORTS_BACKOFF_SECONDS``). A call that fails or answers garbage changes no state: the request is asked
about again at its next look. Past ``REPORTS_MAX_AGE_SECONDS`` without a final answer the state is "unknown".
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from django.db import connection
from django.utils import timezone

from common import metrics
from common.conf import gateway_settings
from messaging.models import Engine, VerifyRequests
from messaging.rowwrites import db_value, fetch_models, update_each
from messaging.services import accounts
from messaging.services.pump import pump_is_running
from messaging.services.requests import template_get
from messaging.services.routes import engine_adapter
from messaging.services.scores import Outcomes, scores_ensure, scores_record
from messaging.transport import NOT_STARTED, StatusJob, call_all
from providers.exceptions import AccountProblem, ProviderConfigurationError
from providers.reporting import DeliveryReport, DeliveryState, StatusResult

logger = logging.getLogger(__name__)
Delivery = VerifyRequests.Delivery
# How long a claim keeps other pollers away, beyond the run's budget: longer than a call started within the
# budget lasts (connect + read timeouts), and a worker killed mid-run leaves its requests due after it.
_LEASE_MARGIN_SECONDS = 60.0


def reports_poll(*, now: datetime | None = None) -> int:
    """Ask the providers about the requests whose look is due; return how many were claimed.

    Sending comes first: while a pump runs or a request waits to be sent, this run does nothing (the reports
    stay due for the next run), unless a look is ``REPORTS_MAX_LAG_SECONDS`` late: then it takes a short turn
    (``REPORTS_BUSY_BUDGET_SECONDS``, ``REPORTS_BUSY_BATCH``), so constant traffic delays reports by a bounded
    time instead of forever. A run waits for provider answers at most ``REPORTS_BUDGET_SECONDS``.
    """
    config = gateway_settings()
    now = now or timezone.now()
    scores_ensure(now=now)  # the routing scores, rebuilt here after a cache flush: this runs every few seconds
    budget, limit = float(config["REPORTS_BUDGET_SECONDS"]), int(config["REPORTS_BATCH"])
    if _sending_first(now):
        late = now - timedelta(seconds=config["REPORTS_MAX_LAG_SECONDS"])
        if not VerifyRequests.objects.filter(report_next_at__lte=late).exists():
            return 0
        budget, limit = float(config["REPORTS_BUSY_BUDGET_SECONDS"]), int(config["REPORTS_BUSY_BATCH"])
    # Requests due before the next run are asked about now: fuller batches, one call instead of two.
    horizon = now + timedelta(seconds=config["REPORTS_INTERVAL_SECONDS"])
    lease_until = now + timedelta(seconds=budget + _LEASE_MARGIN_SECONDS)
    claimed = _claim(horizon=horizon, lease_until=lease_until, limit=limit)
    if not claimed:
        return 0
    reports, started = _ask(claimed, budget=budget)
    _write(claimed, reports, started, lease_until=lease_until)
    return len(claimed)


def _sending_first(now: datetime) -> bool:
    """Whether a pump is sending or a request waits to be sent."""
    try:
        if pump_is_running():
            return True
    except Exception as exc:  # the cache is down: the database still says whether requests wait
        logger.warning("pump mark unreadable: %s", type(exc).__name__)
    return VerifyRequests.objects.filter(flag=VerifyRequests.Flag.PENDING, next_attempt_at__lte=now).exists()


def _claim(*, horizon: datetime, lease_until: datetime, limit: int) -> list[VerifyRequests]:
    meta = VerifyRequests._meta
    quote = connection.ops.quote_name
    table = quote(meta.db_table)
    lock = " FOR UPDATE SKIP LOCKED" if connection.features.has_select_for_update_skip_locked else ""
    columns = ", ".join(quote(field.column) for field in meta.concrete_fields)
    sql = (
        f"UPDATE {table} SET report_next_at = %s "  # noqa: S608  (metadata names)
        f"WHERE id IN (SELECT id FROM {table} WHERE report_next_at IS NOT NULL AND report_next_at <= %s "
        f"ORDER BY report_next_at LIMIT %s{lock}) RETURNING {columns}"
    )
    when = [db_value(VerifyRequests, "report_next_at", value) for value in (lease_until, horizon)]
    return fetch_models(VerifyRequests, sql, [when[0], when[1], limit])


def _ask(claimed: list[VerifyRequests], *, budget: float) -> tuple[dict[int, DeliveryReport], set[int]]:
    """Every claimed request's report, where its provider gave one; and the requests a call was made for."""
    by_engine: dict[int, list[VerifyRequests]] = defaultdict(list)
    for request in claimed:
        if request.system_id is not None and request.provider_message_id:
            by_engine[request.system_id].append(request)
    engines = Engine.objects.in_bulk(list(by_engine))
    deadline = time.monotonic() + budget
    jobs: list[StatusJob] = []
    batches: list[tuple[Engine, list[VerifyRequests]]] = []
    for engine_id, requests in by_engine.items():
        engine = engines.get(engine_id)
        if engine is None:
            continue
        try:
            adapter = engine_adapter(engine)
        except ProviderConfigurationError as exc:
            accounts.configuration_error(engine=engine, code="config_error", message=str(exc))
            continue
        size = max(1, adapter.status_batch_size)
        for start in range(0, len(requests), size):
            batch = requests[start : start + size]
            ids = tuple(request.provider_message_id for request in batch)
            jobs.append(StatusJob(adapter, ids, engine.id, engine.max_in_flight, deadline))
            batches.append((engine, batch))
    # The run waits for answers until the budget is spent, not for the slowest call: a call still running
    # then ends on its own timeouts in the background, and its requests are asked about at their next look.
    results = call_all(jobs, timeout=max(0.0, deadline - time.monotonic()))
    reports: dict[int, DeliveryReport] = {}
    started: set[int] = set()
    problems: dict[int, tuple[Engine, StatusResult]] = {}
    for (engine, batch), result in zip(batches, results, strict=True):
        if not (isinstance(result, StatusResult) and result.error_code == NOT_STARTED):
            started.update(request.id for request in batch)
        if not isinstance(result, StatusResult):  # still running at the deadline, or crashed: nothing known
            if isinstance(result, BaseException):
                logger.error("status call crashed", exc_info=result)
            continue
        if result.error_code:
            logger.warning("status call to %s failed: %s %s", engine.name, result.error_code, result.error_message)
            if result.problem is AccountProblem.CONFIGURATION:
                problems[engine.id] = (engine, result)
            continue
        by_id = {report.message_id: report for report in result.reports}
        for request in batch:
            report = by_id.get(request.provider_message_id)
            if report is not None:
                reports[request.id] = report
    for engine, result in problems.values():
        accounts.configuration_error(engine=engine, code=result.error_code, message=result.error_message)
    return reports, started


def _write(
    claimed: list[VerifyRequests], reports: dict[int, DeliveryReport], started: set[int], *, lease_until: datetime
) -> None:
    config = gateway_settings()
    now = timezone.now()
    max_age = timedelta(seconds=config["REPORTS_MAX_AGE_SECONDS"])
    backoff: list[float] = list(config["REPORTS_BACKOFF_SECONDS"]) or [60.0]
    rows: list[tuple[dict[str, Any], dict[str, Any]]] = []
    ended: list[tuple[int | None, str]] = []
    learned = Outcomes()
    code_templates = _code_templates({request.template_id for request in claimed})
    for request in claimed:
        values = {
            "delivery_state": request.delivery_state,
            "delivery_code": request.delivery_code,
            "delivery_text": request.delivery_text,
            "delivered_at": request.delivered_at,
            "report_next_at": None,
            "report_polls": request.report_polls + (request.id in started),
        }
        report = reports.get(request.id)
        if report is not None:
            values.update(
                delivery_state=report.state.value,
                delivery_code=report.code[:16],
                delivery_text=report.text[:100],
                delivered_at=report.delivered_at or (now if report.state is DeliveryState.DELIVERED else None),
            )
        answerable = request.system_id is not None and bool(request.provider_message_id)
        final = report is not None and report.state.final
        too_old = request.completed_at is None or now - request.completed_at >= max_age
        if not final and (too_old or not answerable):
            values["delivery_state"] = Delivery.UNKNOWN  # no final answer will come: stop asking
        elif not final:
            # Not started (out of time): due again at once. Otherwise the next step of the backoff.
            wait = backoff[min(request.report_polls, len(backoff) - 1)] if request.id in started else 0.0
            values["report_next_at"] = now + timedelta(seconds=wait)
        rows.append((values, {"id": request.id, "report_next_at": lease_until}))
        if values["report_next_at"] is None:  # the last word on this message
            ended.append((request.system_id, str(values["delivery_state"])))
            if request.system_id is not None:
                learned.report(request.system_id, request.operator, str(values["delivery_state"]))
                if request.template_id in code_templates:  # a verification code's send has its last word
                    learned.code_sent(request.system_id, request.operator)
    # Only rows still holding this claim are written: a run that outlived its lease writes nothing.
    update_each(VerifyRequests, rows)
    _count(ended)
    scores_record(learned)


def _code_templates(template_ids: set[int]) -> set[int]:
    """Which of these templates carry a verification code (the adaptive policy counts approved codes)."""
    return {template_id for template_id in template_ids if "code" in template_get(template_id=template_id).token_names}


def _count(ended: list[tuple[int | None, str]]) -> None:
    if not ended:
        return
    names: dict[int | None, str] = dict(
        Engine.objects.filter(id__in={engine_id for engine_id, _ in ended}).values_list("id", "name")
    )
    for engine_id, state in ended:
        metrics.count_delivery_report(names.get(engine_id, "none"), state)
