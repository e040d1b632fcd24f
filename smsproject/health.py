"""The admin's provider-health page: per engine, per operator and per template, over the last day.

It lives in the project package because it reads both messaging (engines) and verifications (conversion).
"""

from __future__ import annotations

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils import timezone

from messaging.selectors_health import provider_health
from smsproject.charts import line_chart
from verifications.selectors import conversion_by_template

PERMISSION = "messaging.view_provider_health"


def provider_health_view(request: HttpRequest) -> TemplateResponse:
    """Staff only (``admin_view`` sends everyone else to the login page), with the page's own permission."""
    if not request.user.has_perm(PERMISSION):
        raise PermissionDenied
    health = provider_health()
    labels = [f"{hour:%H}:00" for hour in health.series.hours]
    charts = [
        line_chart("Sent per hour", "messages", labels, health.series.sent),
        line_chart("Failed calls per hour (failed, timed out, rejected)", "calls", labels, health.series.failed),
        line_chart("Call latency per hour, p95", "ms", labels, health.series.latency_p95_ms),
    ]
    context = {
        **admin.site.each_context(request),
        "title": "Provider health",
        "health": health,
        "charts": charts,
        "conversions": conversion_by_template(since=health.since),
        "time_zone": timezone.get_current_timezone_name(),
    }
    return TemplateResponse(request, "admin/provider_health.html", context)
