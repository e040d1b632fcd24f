from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from common.api import OutputSerializer, PhoneField, StrictSerializer
from common.conf import gateway_settings
from messaging.api.serializers import DeliverySerializer, delivery_of
from verifications.codes import code_normalize
from verifications.models import Verification
from verifications.selectors import verification_carried_by
from verifications.services import verification_attempts_left, verification_resend_after

# What a client may type as a code, for the schema and the server alike: 4-10 digits of any script
# (Persian and Arabic-Indic keyboards), with spaces anywhere. At most 32 characters in all.
CODE_PATTERN = r"^\s*(?:\d\s*){4,10}$"
_CODE_MAX_LENGTH = 32
_NO_DEFAULT_TEMPLATE = "This field is required: no default template is configured."


def _template_id_field(**kwargs: Any) -> serializers.IntegerField:
    return serializers.IntegerField(required=False, min_value=1, max_value=2_147_483_647, **kwargs)


class TemplateChoiceSerializer(StrictSerializer):
    """``template_id`` is required unless the gateway has a default verification template. Fields are built
    per serializer, so the served schema and the server's answer both follow the setting as it is now."""

    def get_fields(self) -> dict[str, serializers.Field]:  # type: ignore[type-arg]
        fields = super().get_fields()
        if not gateway_settings()["OTP_DEFAULT_TEMPLATE_ID"]:
            fields["template_id"].required = True
            fields["template_id"].error_messages["required"] = _NO_DEFAULT_TEMPLATE
        return fields


@extend_schema_field({"type": "string", "pattern": CODE_PATTERN, "maxLength": _CODE_MAX_LENGTH, "example": "482913"})
class CodeField(serializers.CharField):
    """4-10 digits; Persian and Arabic-Indic digits and spaces as Iranian keyboards type them. A string only:
    a JSON number would lose leading zeros."""

    default_error_messages = {"invalid_code": "Enter the 4-10 digit code."}

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", _CODE_MAX_LENGTH)
        kwargs.setdefault("trim_whitespace", False)  # the length limit counts what was sent
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        if len(data) > _CODE_MAX_LENGTH:  # the validator sees only the normalised digits
            self.fail("max_length", max_length=_CODE_MAX_LENGTH)
        text = super().to_internal_value(data)
        if not _CODE.match(text):
            self.fail("invalid_code")
        return code_normalize(text)


_CODE = re.compile(CODE_PATTERN)


class VerificationStartSerializer(TemplateChoiceSerializer):
    phone = PhoneField()
    template_id = _template_id_field(
        help_text="Required unless the gateway has a default verification template (this schema says which)."
    )


class VerificationCheckSerializer(StrictSerializer):
    code = CodeField()


class VerificationCheckByPhoneSerializer(TemplateChoiceSerializer):
    phone = PhoneField()
    template_id = _template_id_field(
        help_text="Required unless the gateway has a default verification template (this schema says which)."
    )
    code = CodeField()


class CarrierSerializer(OutputSerializer):
    send_request_id = serializers.IntegerField()
    engine = serializers.CharField()
    channel = serializers.ChoiceField(choices=["sms", "call"])
    rescue = serializers.BooleanField(help_text="True when it was a rescue send, not the client's.")


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
    rescues = serializers.IntegerField(
        help_text="Sends the gateway made on its own because the code did not arrive (templates with rescue on)."
    )
    carried_by = serializers.SerializerMethodField(
        help_text="Once approved: the send that carried the code (the newest reported delivered, else the newest "
        "a provider took), its engine and channel; null before approval or for a test number."
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
            "rescues",
            "carried_by",
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

    @extend_schema_field(CarrierSerializer(allow_null=True))
    def get_carried_by(self, obj: Verification) -> dict[str, Any] | None:
        if obj.status != Verification.Status.APPROVED:
            return None
        return verification_carried_by(verification=obj)

    def get_resend_after(self, obj: Verification) -> datetime | None:
        return verification_resend_after(verification=obj)
