"""Operator pages: verifications read-only (no code, no hash), and the test numbers."""

from __future__ import annotations

from typing import Any

import phonenumbers
from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from common.masking import mask_phone
from common.phones import InvalidPhone, normalize_phone
from verifications.models import TestNumber, Verification


@admin.register(Verification)
class VerificationAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["id", "masked_phone", "client", "template", "status", "send_count", "failed_checks", "expires_at"]
    list_filter = ["status", "is_test_number", "client", "created_at"]
    date_hierarchy = "created_at"
    search_fields = ["phone"]
    list_select_related = ["client", "template"]
    exclude = ["code_hash", "code_sealed", "phone"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return ["masked_phone", *(f.name for f in self.model._meta.fields if f.name not in self.exclude)]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="Phone", ordering="phone")
    def masked_phone(self, obj: Verification) -> str:
        return mask_phone(obj.phone)

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
    list_display = ["phone", "note", "created_at"]
    search_fields = ["phone", "note"]
