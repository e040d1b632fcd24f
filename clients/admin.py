"""Clients and their keys. A new key is shown once, on the page that answers the action; only hashes are stored."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from clients.models import Client, ClientKey, Scope
from clients.services import client_key_create, client_key_revoke, client_key_rotate
from common.exceptions import ApplicationError

_KEY_FIELDS = ("prefix", "name", "scopes", "expires_at", "created_at", "last_used_at", "revoked_at")


class ClientKeyInline(admin.TabularInline):  # type: ignore[type-arg]
    model = ClientKey
    fields = readonly_fields = _KEY_FIELDS
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class KeyCreateForm(forms.Form):
    name = forms.CharField(max_length=100)
    scopes = forms.MultipleChoiceField(
        choices=Scope.choices, widget=forms.CheckboxSelectMultiple, initial=[scope.value for scope in Scope]
    )
    expires_at = forms.DateTimeField(required=False, help_text="Empty: never. Format: 2027-01-31 23:59.")


@admin.register(Client)
class ClientAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["name", "is_active", "created_at"]
    list_filter = ["is_active"]
    search_fields = ["name", "keys__prefix"]
    readonly_fields = ["created_at"]
    fields = ["name", "is_active", "created_at"]
    inlines = [ClientKeyInline]
    actions = ["create_key"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        # `manage.py create_client NAME` creates a client with its first key.
        return False

    @admin.action(description="Create a key for the selected clients")
    def create_key(self, request: HttpRequest, queryset: QuerySet[Client]) -> HttpResponse | None:
        form = KeyCreateForm(request.POST if "apply" in request.POST else None)
        if not form.is_valid():
            context = {**self.admin_site.each_context(request), "form": form, "clients": queryset, "title": "New key"}
            return TemplateResponse(request, "admin/clients/key_create.html", context)
        created = [client_key_create(client=client, **form.cleaned_data) for client in queryset.order_by("name")]
        return _keys_shown(self, request, created)


class ClientKeyForm(forms.ModelForm):  # type: ignore[type-arg]
    scopes = forms.MultipleChoiceField(choices=Scope.choices, widget=forms.CheckboxSelectMultiple)

    class Meta:
        model = ClientKey
        fields = ["name", "scopes", "expires_at"]


@admin.register(ClientKey)
class ClientKeyAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    form = ClientKeyForm
    list_display = ["prefix", "client", "name", "scopes", "expires_at", "last_used_at", "revoked_at"]
    list_filter = ["client"]
    search_fields = ["prefix", "name", "client__name"]
    readonly_fields = ["client", "prefix", "created_at", "last_used_at", "revoked_at"]
    fields = ["client", "prefix", "name", "scopes", "expires_at", "created_at", "last_used_at", "revoked_at"]
    actions = ["rotate", "revoke"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # the client page's "Create a key" action shows the new key once

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # revoke instead: the row keeps who had access and until when

    @admin.action(description="Rotate the selected keys (new keys shown once; old keys work until revoked)")
    def rotate(self, request: HttpRequest, queryset: QuerySet[ClientKey]) -> HttpResponse | None:
        created = []
        for key in queryset.select_related("client"):
            try:
                created.append(client_key_rotate(key=key))
            except ApplicationError as exc:
                self.message_user(request, exc.message, messages.WARNING)
        return _keys_shown(self, request, created) if created else None

    @admin.action(description="Revoke the selected keys")
    def revoke(self, request: HttpRequest, queryset: QuerySet[ClientKey]) -> None:
        for key in queryset:
            client_key_revoke(key=key)
        self.message_user(
            request,
            f"Revoked {len(queryset)} key(s): refused at once here, within SMS_AUTH_MEMO_SECONDS by other processes.",
        )


def _keys_shown(
    model_admin: admin.ModelAdmin[Any], request: HttpRequest, created: list[tuple[ClientKey, str]]
) -> HttpResponse:
    context = {**model_admin.admin_site.each_context(request), "created": created, "title": "New keys"}
    # Admin pages are never_cache (Cache-Control: no-store): the only page that shows a key is kept nowhere.
    return TemplateResponse(request, "admin/clients/keys_shown.html", context)
