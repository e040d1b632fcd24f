from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from common.api import PhoneField, StrictSerializer
from messaging.api.serializers import DeliverySerializer, delivery_of
from verifications.codes import code_normalize
from verifications.models import Verification
from verifications.services import verification_attempts_left, verification_resend_after


def _template_id_field(**kwargs: Any) -> serializers.IntegerField:
    return serializers.IntegerField(required=False, min_value=1, max_value=2_147_483_647, **kwargs)


class CodeField(serializers.CharField):
    """4-10 digits; Persian and Arabic-Indic digits and spaces as Iranian keyboards type them."""

    default_error_messages = {"invalid_code": "Enter the 4-10 digit code."}

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 32)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        code = code_normalize(super().to_internal_value(data))
        if not re.fullmatch(r"[0-9]{4,10}", code):
            self.fail("invalid_code")
        return code


class VerificationStartSerializer(StrictSerializer):
    phone = PhoneField()
    template_id = _template_id_field(help_text="Omit to use the configured default verification template.")


class VerificationCheckSerializer(StrictSerializer):
    code = CodeField()


class VerificationCheckByPhoneSerializer(StrictSerializer):
    phone = PhoneField()
    template_id = _template_id_field()
    code = CodeField()


class VerificationSerializer(serializers.ModelSerializer[Verification]):
    status = serializers.SerializerMethodField(
        help_text="pending, approved, expired, max_attempts_reached or canceled."
    )
    template_id = serializers.IntegerField(source="template.template_id")
    attempts_left = serializers.SerializerMethodField(help_text="Wrong codes still accepted before it locks.")
    resend_after = serializers.SerializerMethodField(help_text="When the code may be sent again; null: never.")
    send_request_id = serializers.IntegerField(
        allow_null=True, help_text="The latest /sendsms/ request; null for a test number."
    )
    delivery = serializers.SerializerMethodField(
        help_text="The provider's delivery report of the latest send; null until a provider accepted it."
    )

    class Meta:
        model = Verification
        fields = [
            "id",
            "status",
            "phone",
            "template_id",
            "attempts_left",
            "send_count",
            "expires_at",
            "resend_after",
            "send_request_id",
            "delivery",
            "created_at",
            "updated_at",
        ]

    def get_status(self, obj: Verification) -> str:
        return obj.current_status()

    def get_attempts_left(self, obj: Verification) -> int:
        return verification_attempts_left(verification=obj)

    @extend_schema_field(DeliverySerializer(allow_null=True))
    def get_delivery(self, obj: Verification) -> dict[str, Any] | None:
        return delivery_of(obj.send_request)

    def get_resend_after(self, obj: Verification) -> datetime | None:
        return verification_resend_after(verification=obj)
