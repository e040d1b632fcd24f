"""Operator pages: verifications read-only (no code, no hash), and the test numbers."""

from __future__ import annotations

from typing import Any

import phonenumbers
from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from common.phones import InvalidPhone, normalize_phone
from messaging.admin import PhoneAdmin, phone_column
from verifications.models import TestNumber, Verification


@admin.register(Verification)
class VerificationAdmin(PhoneAdmin):
    phone_list_display = ["id", "phone", "client", "template", "status", "send_count", "failed_checks", "expires_at"]
    list_filter = ["status", "is_test_number", "client", "created_at"]
    date_hierarchy = "created_at"
    search_fields = ["phone"]
    list_select_related = ["client", "template"]
    hidden_fields = ("code_hash", "code_sealed")

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Verification], search_term: str
    ) -> tuple[QuerySet[Verification], bool]:
        # Operators type numbers the way users do; rows hold E.164.
        if not search_term.strip():
            return queryset, False
        try:
            return queryset.filter(phone=normalize_phone(search_term)), False
        except InvalidPhone:
            return queryset.none(), False


class TestNumberForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = TestNumber
        fields = ["phone", "code", "note"]

    def clean_phone(self) -> str:
        try:
            return normalize_phone(self.cleaned_data["phone"], allowed_regions=tuple(phonenumbers.SUPPORTED_REGIONS))
        except InvalidPhone as exc:
            raise forms.ValidationError("Enter a mobile number, e.g. 09120000000.") from exc

    def clean_code(self) -> str:
        code = str(self.cleaned_data["code"]).strip()
        if not (code.isascii() and code.isdigit() and 4 <= len(code) <= 10):
            raise forms.ValidationError("4-10 digits.")
        return code


@admin.register(TestNumber)
class TestNumberAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    form = TestNumberForm
    search_fields = ["phone", "note"]

    def get_list_display(self, request: HttpRequest) -> list[Any]:  # type: ignore[override]
        # The list masks numbers as every other page does; editing one shows it (it is being typed).
        return [phone_column(request), "note", "created_at"]
