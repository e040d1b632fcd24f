from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from common.api import OutputSerializer, PhoneField, StrictSerializer
from messaging.models import Attempt, VerifyRequests

# One token value as the server takes it (messaging.services.requests.template_tokens): up to 25 letters,
# digits, '-', '_' or '.' (any script; Python's \w), spaces around trimmed; or an integer of up to 25 characters.
_TOKEN_LIMIT = 25
_TOKEN = {
    "oneOf": [
        {"type": "string", "pattern": rf"^\s*[\w\-.]{{1,{_TOKEN_LIMIT}}}\s*$"},
        {"type": "integer", "minimum": 1 - 10 ** (_TOKEN_LIMIT - 1), "maximum": 10**_TOKEN_LIMIT - 1},
    ]
}


@extend_schema_field(
    {
        "oneOf": [
            {"type": "object", "minProperties": 1, "additionalProperties": _TOKEN},
            {"type": "array", "minItems": 1, "items": _TOKEN},
        ],
        "example": {"code": "123456"},
    }
)
class TokenValueField(serializers.JSONField):
    """The template's tokens: an object of token name -> value, or a list in the template's token order."""


class SendSmsInputSerializer(StrictSerializer):
    phone = PhoneField()
    template_id = serializers.IntegerField(min_value=1, max_value=2_147_483_647)
    token_value = TokenValueField(
        help_text='Token name -> value, e.g. {"code": "123456"}, or a list in the template\'s token order. The '
        "names and their number are the template's."
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
    channel = serializers.ChoiceField(choices=VerifyRequests.Channel.choices, help_text="sms or call.")
    reason = serializers.CharField(
        help_text="Why this engine was tried: the template's routing policy and its grounds (score, exploration), "
        "failover, or a rescue."
    )
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


class DeliverySerializer(OutputSerializer):
    state = serializers.ChoiceField(
        choices=VerifyRequests.Delivery.choices, source="delivery_state", help_text="What the provider reports."
    )
    provider_code = serializers.CharField(source="delivery_code", help_text="The provider's own status code.")
    provider_text = serializers.CharField(source="delivery_text", help_text="The provider's meaning of it.")
    delivered_at = serializers.DateTimeField(allow_null=True, help_text="When it reached the handset.")


def delivery_of(request: VerifyRequests | None) -> dict[str, Any] | None:
    """The ``delivery`` object of a request: null until a provider accepted it."""
    if request is None or not request.delivery_state:
        return None
    return dict(DeliverySerializer(request).data)


class SendRequestWithDeliverySerializer(SendRequestSerializer):
    delivery = serializers.SerializerMethodField(
        help_text="The provider's delivery report, polled after DONE; null before DONE."
    )

    @extend_schema_field(DeliverySerializer(allow_null=True))
    def get_delivery(self, obj: VerifyRequests) -> dict[str, Any] | None:
        return delivery_of(obj)


class SendRequestDetailSerializer(SendRequestWithDeliverySerializer):
    attempts = AttemptSerializer(many=True, read_only=True)


class SendRequestPageSerializer(OutputSerializer):
    count = serializers.IntegerField(help_text="Requests matching the filters.")
    next = serializers.URLField(allow_null=True, help_text="The next page; null on the last.")
    previous = serializers.URLField(allow_null=True, help_text="The previous page; null on the first.")
    results = SendRequestWithDeliverySerializer(many=True)


class SendRequestFilterSerializer(StrictSerializer):
    flag = serializers.ChoiceField(choices=["PENDING", "DONE", "FAILED"], required=False)
    delivery = serializers.ChoiceField(choices=VerifyRequests.Delivery.values, required=False)
    phone = PhoneField(required=False, help_text="Any accepted phone form.")
    limit = serializers.IntegerField(required=False, min_value=1, max_value=500, help_text="Page size; default 50.")
    offset = serializers.IntegerField(required=False, min_value=0, max_value=2_147_483_647)
