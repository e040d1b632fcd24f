from __future__ import annotations

from django.urls import reverse
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from clients.access import READ, SEND, KeyScopes
from clients.authentication import request_client
from clients.idempotency import idempotent_response
from clients.schema import IDEMPOTENCY_PARAMETER
from common.openapi import AUTH_EXAMPLES, BODY_EXAMPLES, NOT_FOUND, error_example, error_responses, field_example
from messaging import selectors
from messaging.api.serializers import (
    SendRequestDetailSerializer,
    SendRequestFilterSerializer,
    SendRequestPageSerializer,
    SendRequestSerializer,
    SendRequestWithDeliverySerializer,
    SendSmsInputSerializer,
)
from messaging.services.limits import client_ip, send_admit
from messaging.services.requests import request_create, template_get, template_tokens

_ACCEPTED = {
    "id": 42,
    "flag": "PENDING",
    "phone": "+989121234567",
    "template_id": 1,
    "tries": 0,
    "system": None,
    "provider_message_id": "",
    "last_error": "",
    "created_at": "2026-11-27T10:00:00Z",
    "updated_at": "2026-11-27T10:00:00Z",
    "completed_at": None,
}
_DONE = {
    **_ACCEPTED,
    "flag": "DONE",
    "tries": 2,
    "system": "kavenegar",
    "provider_message_id": "8792343",
    "last_error": "",
    "completed_at": "2026-11-27T10:00:01Z",
    "delivery": {
        "state": "delivered",
        "provider_code": "10",
        "provider_text": "رسیده به گیرنده",
        "delivered_at": "2026-11-27T10:00:09Z",
    },
    "attempts": [
        {
            "engine": "smsir",
            "round": 1,
            "outcome": "failed",
            "error_code": "http_500",
            "error_message": "HTTP 500",
            "http_status": 500,
            "latency_ms": 31,
            "channel": "sms",
            "reason": "adaptive: best for IR-MCI: score 0.97 over 88",
            "created_at": "2026-11-27T10:00:00Z",
        },
        {
            "engine": "kavenegar",
            "round": 1,
            "outcome": "sent",
            "error_code": "",
            "error_message": "",
            "http_status": 200,
            "latency_ms": 120,
            "channel": "sms",
            "reason": "failover",
            "created_at": "2026-11-27T10:00:00Z",
        },
    ],
}
_SEND_ERRORS = [
    field_example(400, "phone", "invalid_phone", "Enter a valid mobile number, e.g. 09121234567."),
    field_example(400, "phone", "required", "This field is required."),
    field_example(400, "extra", "unexpected_field", "This field is not accepted."),
    field_example(400, "template_id", "unknown_template", "There is no template 99."),
    field_example(400, "token_value", "missing_token", "Missing token(s): code."),
    field_example(400, "token_value", "unknown_token", "Unknown token name(s): pin."),
    field_example(400, "token_value", "token_count_mismatch", "Template 1 takes 1 token(s) in this order: code."),
    field_example(400, "token_value.code", "empty_token", "A token value may not be empty."),
    field_example(400, "token_value.code", "token_too_long", "A token value is at most 25 characters."),
    field_example(
        400,
        "token_value.code",
        "token_invalid_characters",
        "A token value may hold letters, digits, '-', '_' and '.' only (no spaces).",
    ),
    error_example(429, "rate_limited", "Too many messages to this number; retry after 120 seconds."),
    *BODY_EXAMPLES,
    *AUTH_EXAMPLES,
]


class SendSmsView(APIView):
    key_scopes: KeyScopes = {"POST": SEND, "GET": READ}

    @extend_schema(
        operation_id="sendsms_create",
        summary="Send a templated SMS",
        description=(
            "Accepts the request at once (202) and sends it in the background through the first healthy "
            "provider. Poll the `Location` URL for the outcome. With an `Idempotency-Key` header, a retry with "
            "the same key and body replays the first answer for 24 hours; the same key with another body is 422."
        ),
        parameters=[IDEMPOTENCY_PARAMETER],
        request=SendSmsInputSerializer,
        responses={202: SendRequestSerializer, **error_responses(400, 401, 413, 415, 422, 429, 503)},
        examples=[
            OpenApiExample(
                "Token object",
                value={"phone": "09121234567", "template_id": 1, "token_value": {"code": "123456"}},
                request_only=True,
            ),
            OpenApiExample(
                "Token list, Persian digits",
                value={"phone": "۰۹۱۲ ۱۲۳ ۴۵۶۷", "template_id": 1, "token_value": ["123456"]},
                request_only=True,
            ),
            OpenApiExample("Accepted", value=_ACCEPTED, response_only=True, status_codes=["202"]),
            *_SEND_ERRORS,
        ],
    )
    def post(self, request: Request) -> Response:
        return idempotent_response(request, client=request_client(request), handler=lambda: self._accept(request))

    def _accept(self, request: Request) -> Response:
        serializer = SendSmsInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        template = template_get(template_id=data["template_id"])
        tokens = template_tokens(template=template, token_value=data["token_value"])
        client = request_client(request)
        send_admit(client=client, phone=data["phone"], ip=client_ip(meta=request.META))
        created = request_create(client=client, phone=data["phone"], template=template, tokens=tokens)
        location = reverse("sendsms-detail", kwargs={"request_id": created.id})
        return Response(
            SendRequestSerializer(created).data, status=status.HTTP_202_ACCEPTED, headers={"Location": location}
        )

    @extend_schema(
        operation_id="sendsms_list",
        summary="List your requests",
        parameters=[SendRequestFilterSerializer],
        responses={200: SendRequestPageSerializer, **error_responses(400, 401)},
        examples=[
            field_example(400, "flag", "invalid_choice", '"SENT" is not a valid choice.'),
            field_example(400, "delivery", "invalid_choice", '"arrived" is not a valid choice.'),
            *AUTH_EXAMPLES,
        ],
    )
    def get(self, request: Request) -> Response:
        filters = SendRequestFilterSerializer(data=request.query_params.dict())
        filters.is_valid(raise_exception=True)
        queryset = selectors.request_list(
            client=request_client(request),
            flag=filters.validated_data.get("flag"),
            phone=filters.validated_data.get("phone"),
            delivery=filters.validated_data.get("delivery"),
        )
        paginator = LimitOffsetPagination()
        page = paginator.paginate_queryset(queryset, request, view=self)
        return paginator.get_paginated_response(SendRequestWithDeliverySerializer(page, many=True).data)


class SendSmsDetailView(APIView):
    key_scopes: KeyScopes = {"GET": READ}

    @extend_schema(
        operation_id="sendsms_retrieve",
        summary="One request with its attempts",
        responses={200: SendRequestDetailSerializer, **error_responses(401, 404)},
        examples=[
            OpenApiExample("Delivered by the fallback", value=_DONE, response_only=True, status_codes=["200"]),
            NOT_FOUND,
            *AUTH_EXAMPLES,
        ],
    )
    def get(self, request: Request, request_id: int) -> Response:
        found = selectors.request_get(client=request_client(request), request_id=request_id)
        if found is None:
            raise NotFound()
        return Response(SendRequestDetailSerializer(found).data)
