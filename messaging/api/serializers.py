from __future__ import annotations

from typing import Any

from rest_framework import serializers

from common.api import OutputSerializer, PhoneField, StrictSerializer
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


# Output serializers declare their fields instead of deriving them from the models: a ModelSerializer
# rebuilds its fields from model metadata on every instance, a measurable share of the accept path.


class AttemptSerializer(OutputSerializer):
    engine = serializers.CharField(source="engine.name")
    round = serializers.IntegerField()
    outcome = serializers.ChoiceField(choices=Attempt.Outcome.choices)
    error_code = serializers.CharField()
    error_message = serializers.CharField()
    http_status = serializers.IntegerField(allow_null=True)
    latency_ms = serializers.IntegerField(allow_null=True)
    created_at = serializers.DateTimeField()


class SendRequestSerializer(OutputSerializer):
    id = serializers.IntegerField()
    flag = serializers.SerializerMethodField(help_text="PENDING, DONE or FAILED.")
    phone = serializers.CharField(help_text="E.164")
    template_id = serializers.IntegerField()
    tries = serializers.IntegerField(help_text="Provider calls made.")
    system = serializers.CharField(source="system.name", allow_null=True, default=None, help_text="Delivered by.")
    provider_message_id = serializers.CharField()
    last_error = serializers.CharField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    completed_at = serializers.DateTimeField(allow_null=True)

    def get_flag(self, obj: VerifyRequests) -> str:
        # In flight is an internal state: to a client the request is still pending.
        return VerifyRequests.Flag.PENDING if obj.flag == VerifyRequests.Flag.SENDING else obj.flag


class SendRequestDetailSerializer(SendRequestSerializer):
    attempts = AttemptSerializer(many=True, read_only=True)


class SendRequestFilterSerializer(StrictSerializer):
    flag = serializers.ChoiceField(choices=["PENDING", "DONE", "FAILED"], required=False)
    phone = PhoneField(required=False)
    limit = serializers.IntegerField(required=False, min_value=1, max_value=500)
    offset = serializers.IntegerField(required=False, min_value=0)
