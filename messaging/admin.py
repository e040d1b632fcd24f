"""Operator pages: engines (token write-only), templates with their mappings, read-only requests."""

from __future__ import annotations

import ipaddress
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.models import Permission
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from common.masking import mask_phone, mask_text
from common.phones import InvalidPhone, normalize_phone
from messaging import breaker
from messaging.models import AllowedRegion, Attempt, Engine, RateLimit, Templates, TemplatesEngine, VerifyRequests
from messaging.services.limits import client_address, limits_policy_reset
from messaging.services.requests import requests_requeue


class EngineForm(forms.ModelForm):  # type: ignore[type-arg]
    provider_token = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="Write-only. Leave empty to keep the current token.",
    )

    class Meta:
        model = Engine
        fields = ["name", *Engine.SETTINGS_FIELDS]

    def clean_provider_token(self) -> str:
        token = self.cleaned_data.get("provider_token") or ""
        if not token and self.instance.pk:
            return self.instance.provider_token
        if not token:
            raise forms.ValidationError("A new engine needs its provider token.")
        return token


@admin.register(Engine)
class EngineAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    form = EngineForm
    list_display = ["name", "kind", "priority", "enabled", "breaker", "credit_reading", "account"]
    list_editable = ["priority", "enabled"]
    list_filter = ["kind", "enabled", "out_of_credit", "credit_low"]
    search_fields = ["name"]
    actions = ["reset_breaker"]
    readonly_fields = [
        "credit",
        "credit_read_at",
        "credit_low",
        "out_of_credit",
        "config_error_code",
        "config_error_at",
    ]

    @admin.display(description="Credit", ordering="credit")
    def credit_reading(self, engine: Engine) -> str:
        if engine.credit is None:
            return "not read yet"
        read_at = engine.credit_read_at.strftime("%Y-%m-%d %H:%M UTC") if engine.credit_read_at else "?"
        low = " (below threshold)" if engine.credit_low else ""
        return f"{engine.credit:,}{low}, read {read_at}"

    @admin.display(description="Account")
    def account(self, engine: Engine) -> str:
        problems = []
        if engine.out_of_credit:
            problems.append("out of credit: skipped")
        if engine.config_error_code:
            since = engine.config_error_at.strftime("%Y-%m-%d %H:%M UTC") if engine.config_error_at else "?"
            problems.append(f"configuration error {engine.config_error_code} since {since}")
        return "; ".join(problems) or "ok"

    @admin.display(description="Breaker")
    def breaker(self, engine: Engine) -> str:
        state = breaker.breaker_state(engine.id)
        return f"{state.state} ({state.failures} consecutive failures)"

    @admin.action(description="Close the circuit breaker of the selected engines")
    def reset_breaker(self, request: HttpRequest, queryset: QuerySet[Engine]) -> None:
        for engine in queryset:
            breaker.breaker_reset(engine.id)
        self.message_user(request, f"Breaker closed for {queryset.count()} engine(s).", messages.SUCCESS)


class TemplatesEngineInline(admin.TabularInline):  # type: ignore[type-arg]
    model = TemplatesEngine
    extra = 1


@admin.register(Templates)
class TemplatesAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["template_id", "name", "token_names", "code_length", "routing", "rescue", "voice_rescue"]
    list_filter = ["routing", "rescue"]
    search_fields = ["name", "template_id"]
    inlines = [TemplatesEngineInline]


class AttemptInline(admin.TabularInline):  # type: ignore[type-arg]
    model = Attempt
    extra = 0
    can_delete = False
    fields = readonly_fields = (
        "engine",
        "round",
        "outcome",
        "error_code",
        "error_message",
        "http_status",
        "latency_ms",
        "channel",
        "reason",
        "created_at",
    )

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


FULL_PHONE_PERMISSION = "messaging.view_full_phone"


def admin_login_ip(request: HttpRequest) -> str | None:
    """The address django-axes counts admin login failures by (``AXES_CLIENT_IP_CALLABLE``): the caller's, as
    rate limits find it behind trusted proxies. None when there is none to read (axes keeps it in an address
    column, which refuses anything else)."""
    try:
        return str(ipaddress.ip_address(client_address(meta=request.META)))
    except ValueError:
        return None


@admin.display(description="Phone", ordering="phone")
def masked_phone(obj: Any) -> str:
    return mask_phone(obj.phone)


def phone_column(request: HttpRequest) -> Any:
    """The row's ``phone`` for staff given ``messaging.view_full_phone``, masked for everyone else."""
    return "phone" if can_see_full_phones(request.user) else masked_phone


def can_see_full_phones(user: Any) -> bool:
    """Whether ``user`` was given the permission, directly or through a group. A superuser holds every
    permission implicitly; whole numbers are shown only to someone it was given to on purpose."""
    if not (user.is_active and user.is_staff):
        return False
    app_label, codename = FULL_PHONE_PERMISSION.split(".")
    granted = Permission.objects.filter(codename=codename, content_type__app_label=app_label)
    return granted.filter(Q(user=user) | Q(group__user=user)).exists()


class PhoneAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Read-only pages of rows with a ``phone``: masked in the list and on the detail page alike (see
    ``phone_column``). Nothing here is edited, so no page has a Save button."""

    phone_list_display: list[str] = []  # list_display, with "phone" where the number goes
    hidden_fields: tuple[str, ...] = ()  # never shown (secrets, internal fields)

    def get_list_display(self, request: HttpRequest) -> list[Any]:  # type: ignore[override]
        return [phone_column(request) if name == "phone" else name for name in self.phone_list_display]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[Any]:  # type: ignore[override]
        hidden = {*self.hidden_fields, "phone"}
        return [phone_column(request), *(field.name for field in self.model._meta.fields if field.name not in hidden)]

    def get_fields(self, request: HttpRequest, obj: Any = None) -> list[Any]:  # type: ignore[override]
        return self.get_readonly_fields(request, obj)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(VerifyRequests)
class VerifyRequestsAdmin(PhoneAdmin):
    phone_list_display = [
        "id",
        "phone",
        "operator",
        "template",
        "flag",
        "tries",
        "system",
        "delivery_state",
        "delivery_code",
        "created_at",
        "completed_at",
    ]
    list_filter = ["flag", "delivery_state", "system", "operator", "created_at"]
    date_hierarchy = "created_at"
    search_fields = ["phone"]
    list_select_related = ["system", "template"]
    inlines = [AttemptInline]
    actions = ["requeue"]
    hidden_fields = ("token_value", "lease_token")

    def has_requeue_permission(self, request: HttpRequest) -> bool:
        # The pages are read-only; putting a request back in the queue is the one change staff make here.
        return bool(request.user.has_perm("messaging.change_verifyrequests"))

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[VerifyRequests], search_term: str
    ) -> tuple[QuerySet[VerifyRequests], bool]:
        # Operators type numbers the way users do; rows hold E.164.
        try:
            return queryset.filter(phone=normalize_phone(search_term)), False
        except InvalidPhone:
            return super().get_search_results(request, queryset, search_term)

    @admin.action(description="Re-queue the selected failed requests", permissions=["requeue"])
    def requeue(self, request: HttpRequest, queryset: QuerySet[VerifyRequests]) -> None:
        count = requests_requeue(request_ids=list(queryset.values_list("id", flat=True)))
        self.message_user(request, f"{count} failed request(s) re-queued.", messages.SUCCESS)


@admin.register(Attempt)
class AttemptAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Every provider call, read-only. The phone is shown masked, from the request it belongs to."""

    list_display = ["id", "request_link", "masked_phone", "engine", "round", "outcome", "error_code", "http_status"]
    list_display += ["latency_ms", "channel", "reason", "created_at"]
    list_filter = ["engine", "outcome", "channel", ("error_code", admin.AllValuesFieldListFilter), "created_at"]
    date_hierarchy = "created_at"
    list_select_related = ["engine", "request"]
    search_fields = ["=request__id"]
    search_help_text = "A send request's id."
    show_full_result_count = False  # a million rows: no second COUNT(*) on every filtered page
    fields = readonly_fields = (
        "request_link",
        "masked_phone",
        "engine",
        "round",
        "outcome",
        "error_code",
        "masked_error_message",
        "http_status",
        "latency_ms",
        "channel",
        "reason",
        "created_at",
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="Request", ordering="request")
    def request_link(self, obj: Attempt) -> str:
        url = reverse("admin:messaging_verifyrequests_change", args=[obj.request_id])
        return format_html('<a href="{}">{}</a>', url, obj.request_id)

    @admin.display(description="Phone")
    def masked_phone(self, obj: Attempt) -> str:
        return mask_phone(obj.request.phone)

    @admin.display(description="Error message")
    def masked_error_message(self, obj: Attempt) -> str:
        return mask_text(obj.error_message)  # providers may quote the number back


# --- Rate limits and the country allowlist ----------------------------------------------------------


class _PolicyAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Every change clears the cached policy, so it applies to the next send in every process."""

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        limits_policy_reset()

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        super().delete_model(request, obj)
        limits_policy_reset()

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        super().delete_queryset(request, queryset)
        limits_policy_reset()


@admin.register(RateLimit)
class RateLimitAdmin(_PolicyAdmin):
    list_display = ["scope", "limit", "period_seconds", "enabled", "note"]
    list_editable = ["limit", "enabled"]
    list_filter = ["scope", "enabled"]


@admin.register(AllowedRegion)
class AllowedRegionAdmin(_PolicyAdmin):
    list_display = ["region", "enabled", "note"]
    list_editable = ["enabled"]
