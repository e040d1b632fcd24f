"""Serializer pieces shared by every API: strict input, phone fields, cheap output."""

from __future__ import annotations

from typing import Any

import phonenumbers
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.utils.serializer_helpers import BindingDict

from common.phones import InvalidPhone, normalize_phone


class StrictSerializer(serializers.Serializer):  # type: ignore[type-arg]
    """Rejects fields it does not know, so a typo never passes silently."""

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, dict):
            raise serializers.ValidationError(
                {"non_field_errors": [serializers.ErrorDetail("Expected a JSON object.", code="invalid_type")]}
            )
        unknown = sorted(set(data) - set(self.fields))
        errors: dict[str, Any] = {}
        for name in unknown:
            errors[name] = [serializers.ErrorDetail("This field is not accepted.", code="unexpected_field")]
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as exc:
            if not errors:
                raise
            errors.update(exc.detail if isinstance(exc.detail, dict) else {})
        if errors:
            raise serializers.ValidationError(errors)
        return value


class OutputSerializer(serializers.Serializer):  # type: ignore[type-arg]
    """A serializer that only renders, with its fields built once per class instead of once per instance.

    DRF deep-copies and binds every declared field for each serializer it creates, a tenth of the accept
    path's CPU. Rendering fields keep no state of their own and these read no context, so one bound set
    serves every instance (a SerializerMethodField calls the first instance's method: keep those pure).
    """

    @property
    def fields(self) -> Any:  # type: ignore[override]
        cls = type(self)
        shared = cls.__dict__.get("_shared_fields")
        if shared is None:
            shared = BindingDict(self)
            for name, field in self.get_fields().items():
                shared[name] = field
            cls._shared_fields = shared  # type: ignore[attr-defined]
        return shared


# Every refusal of a number says this and only this, so the API never tells which check failed.
INVALID_PHONE_MESSAGE = "Enter a valid mobile number, e.g. 09121234567."
EVERY_REGION = tuple(sorted(phonenumbers.SUPPORTED_REGIONS))


# "phone" is this API's own format (OpenAPI leaves formats open): a mobile number in any spelling the
# README lists. A pattern cannot say which numbers are mobiles; the fuzzer is told how to spell them
# (scripts/schemathesis_hooks.py).
PHONE_MAX_LENGTH = 32


@extend_schema_field({"type": "string", "format": "phone", "maxLength": PHONE_MAX_LENGTH, "example": "09121234567"})
class PhoneField(serializers.CharField):
    """Any form an Iranian user types; stored as E.164. Refuses anything that is not a mobile number.

    The country allowlist is not checked here: operators edit it at run time, so the sending path checks it
    (``messaging.services.limits``) and refuses with this same error.
    """

    default_error_messages = {"invalid_phone": INVALID_PHONE_MESSAGE}

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", PHONE_MAX_LENGTH)
        kwargs.setdefault("trim_whitespace", False)  # the length limit counts what was sent; spaces are separators
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):  # the schema says string; a JSON number would lose a leading 0 or +
            self.fail("invalid_phone")
        if self.max_length is not None and len(data) > self.max_length:  # the validator sees only the E.164
            # The one refusal for any spelling we will not read as a number, too long ones included.
            self.fail("invalid_phone")
        text = super().to_internal_value(data)
        try:
            return normalize_phone(text, allowed_regions=EVERY_REGION)
        except InvalidPhone:
            self.fail("invalid_phone")
            raise  # unreachable: fail() raises
