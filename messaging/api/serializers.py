from __future__ import annotations

from typing import Any

from rest_framework import serializers

from common.api import PhoneField, StrictSerializer
from messaging.models import Attempt, VerifyRequests


class SendSmsInputSerializer(StrictSerializer):
    phone = PhoneField()
    template_id = serializers.IntegerField(min_value=1, max_value=2_147_483_647)
    token_value = serializers.JSONField(
        help_text='Token name -> value, e.g. {"code": "123456"}, or a list in the template\'s token order.'
    )

    def validate_token_value(self, value: Any) -> Any:
        if not isinstance(value, dict | list):
            raise serializers.ValidationError("token_value must be an object or a list.", code="invalid_type")
        return value


class AttemptSerializer(serializers.ModelSerializer[Attempt]):
    engine = serializers.CharField(source="engine.name")

    class Meta:
        model = Attempt
        fields = [
            "engine",
            "round",
            "outcome",
            "error_code",
            "error_message",
            "http_status",
            "latency_ms",
            "created_at",
        ]


class SendRequestSerializer(serializers.ModelSerializer[VerifyRequests]):
    flag = serializers.SerializerMethodField(help_text="PENDING, DONE or FAILED.")
    system = serializers.CharField(source="system.name", allow_null=True, default=None, help_text="Delivered by.")

    class Meta:
        model = VerifyRequests
        fields = [
            "id",
            "flag",
            "phone",
            "template_id",
            "tries",
            "system",
            "provider_message_id",
            "last_error",
            "created_at",
            "updated_at",
            "completed_at",
        ]

    def get_flag(self, obj: VerifyRequests) -> str:
        # In flight is an internal state: to a client the request is still pending.
        return VerifyRequests.Flag.PENDING if obj.flag == VerifyRequests.Flag.SENDING else obj.flag


class SendRequestDetailSerializer(SendRequestSerializer):
    attempts = AttemptSerializer(many=True, read_only=True)

    class Meta(SendRequestSerializer.Meta):
        fields = [*SendRequestSerializer.Meta.fields, "attempts"]


class SendRequestFilterSerializer(StrictSerializer):
    flag = serializers.ChoiceField(choices=["PENDING", "DONE", "FAILED"], required=False)
    phone = PhoneField(required=False)
    limit = serializers.IntegerField(required=False, min_value=1, max_value=500)
    offset = serializers.IntegerField(required=False, min_value=0)
