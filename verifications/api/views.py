from __future__ import annotations

import uuid

from django.urls import reverse
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from clients.access import READ, VERIFY, KeyScopes
from clients.authentication import request_client
from clients.idempotency import idempotent_response
from clients.schema import IDEMPOTENCY_PARAMETER
from common.openapi import AUTH_EXAMPLES, BODY_EXAMPLES, NOT_FOUND, error_example, error_responses, field_example
from messaging.services.limits import client_ip
from verifications import selectors
from verifications.api.serializers import (
    VerificationCheckByPhoneSerializer,
    VerificationCheckSerializer,
    VerificationSerializer,
    VerificationStartSerializer,
)
from verifications.models import Verification
from verifications.services import (
    verification_cancel,
    verification_check,
    verification_start,
    verification_template,
)

_PENDING = {
    "id": "6f1c2b1e-8a43-4c1e-9d5e-2f0a7b3c9d10",
    "status": "pending",
    "phone": "+989121234567",
    "template_id": 1,
    "attempts_left": 5,
    "send_count": 1,
    "expires_at": "2026-11-27T10:10:00Z",
    "resend_after": "2026-11-27T10:01:00Z",
    "send_request_id": 42,
    "delivery": None,
    "rescues": 0,
    "carried_by": None,
    "created_at": "2026-11-27T10:00:00Z",
    "updated_at": "2026-11-27T10:00:00Z",
}
_RESENT = {**_PENDING, "send_count": 2, "resend_after": "2026-11-27T10:02:30Z", "send_request_id": 43}
_APPROVED = {
    **_PENDING,
    "status": "approved",
    "attempts_left": 0,
    "resend_after": None,
    "carried_by": {"send_request_id": 42, "engine": "smsir", "channel": "sms", "rescue": False},
}
_WRONG = {**_PENDING, "attempts_left": 4}
_LOCKED = {**_PENDING, "status": "max_attempts_reached", "attempts_left": 0, "resend_after": None}
_EXPIRED = {**_PENDING, "status": "expired", "attempts_left": 0, "resend_after": None}
_CANCELED = {**_PENDING, "status": "canceled", "attempts_left": 0, "resend_after": None}

_INVALID_CODE = field_example(400, "code", "invalid_code", "Enter the 4-10 digit code.")
_ALREADY_APPROVED = error_example(
    409, "already_approved", "This verification was already approved; a code approves once."
)
_PHONE_ERRORS = [
    field_example(400, "phone", "invalid_phone", "Enter a valid mobile number, e.g. 09121234567."),
    field_example(400, "phone", "required", "This field is required."),
    field_example(400, "template_id", "unknown_template", "There is no template 99."),
    field_example(400, "template_id", "required", "This field is required: no default template is configured."),
]
_START_ERRORS = [
    *_PHONE_ERRORS,
    field_example(400, "template_id", "template_without_code", "Template 2 has no 'code' token to put a code in."),
    field_example(400, "template_id", "invalid_code_length", "Template 2 asks for 12-digit codes; use 4-10."),
    field_example(400, "extra", "unexpected_field", "This field is not accepted."),
    error_example(429, "resend_too_soon", "A code was just sent; retry after 42 seconds."),
    error_example(
        429,
        "max_sends_reached",
        "This code was sent 5 times; start a new verification after it expires, in 300 seconds.",
    ),
    error_example(429, "rate_limited", "Too many messages to this number; retry after 120 seconds."),
    *BODY_EXAMPLES,
    *AUTH_EXAMPLES,
]
_CHECK_RESULTS = [
    OpenApiExample("Approved", value=_APPROVED, response_only=True, status_codes=["200"]),
    OpenApiExample("Wrong code, attempts left", value=_WRONG, response_only=True, status_codes=["200"]),
    OpenApiExample("Locked after 5 wrong codes", value=_LOCKED, response_only=True, status_codes=["200"]),
    OpenApiExample("Expired", value=_EXPIRED, response_only=True, status_codes=["200"]),
    OpenApiExample("Canceled", value=_CANCELED, response_only=True, status_codes=["200"]),
]
_CHECK_DESCRIPTION = (
    "Answers 200 with the verification's `status`: `approved` (the code was right; it approves once), `pending` "
    "(wrong code, `attempts_left` more allowed), `expired`, `max_attempts_reached` (locked: even the right code "
    "is refused) or `canceled`. Checking an approved verification again is a 409. Persian and Arabic-Indic digits "
    "are accepted."
)


def _found(request: Request, verification_id: uuid.UUID) -> Verification:
    found = selectors.verification_get(client=request_client(request), verification_id=verification_id)
    if found is None:
        raise NotFound()
    return found


class VerificationsView(APIView):
    key_scopes: KeyScopes = {"POST": VERIFY}

    @extend_schema(
        operation_id="verifications_create",
        summary="Send a verification code",
        description=(
            "Makes a code (digits, from `secrets`), sends it through the same pipeline as /sendsms/ in the "
            "template's `code` token, and answers 201; the code itself is never returned. Calling again for the "
            "same phone and template while the verification is pending sends the SAME code again (200, same id) "
            "once the resend interval has passed, at most 5 sends in all. Rate limits per phone, number range, "
            "client and IP apply to every send; each 429 has `Retry-After`. With an `Idempotency-Key` header, a "
            "retry with the same key and body replays the first answer for 24 hours; another body is 422."
        ),
        parameters=[IDEMPOTENCY_PARAMETER],
        request=VerificationStartSerializer,
        responses={
            201: VerificationSerializer,
            200: VerificationSerializer,
            **error_responses(400, 401, 413, 415, 422, 429, 503),
        },
        examples=[
            OpenApiExample("Default template", value={"phone": "09121234567"}, request_only=True),
            OpenApiExample(
                "Template, Persian digits", value={"phone": "۰۹۱۲۱۲۳۴۵۶۷", "template_id": 1}, request_only=True
            ),
            OpenApiExample("Sent", value=_PENDING, response_only=True, status_codes=["201"]),
            OpenApiExample("Same code sent again", value=_RESENT, response_only=True, status_codes=["200"]),
            *_START_ERRORS,
        ],
    )
    def post(self, request: Request) -> Response:
        return idempotent_response(request, client=request_client(request), handler=lambda: self._start(request))

    def _start(self, request: Request) -> Response:
        serializer = VerificationStartSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        result = verification_start(
            client=request_client(request),
            phone=data["phone"],
            template_id=data.get("template_id"),
            ip=client_ip(meta=request.META),
        )
        location = reverse("verification-detail", kwargs={"verification_id": result.verification.id})
        return Response(
            VerificationSerializer(result.verification).data,
            status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK,
            headers={"Location": location},
        )


class VerificationDetailView(APIView):
    key_scopes: KeyScopes = {"GET": VERIFY | READ}

    @extend_schema(
        operation_id="verifications_retrieve",
        summary="A verification's status",
        responses={200: VerificationSerializer, **error_responses(401, 404)},
        examples=[
            OpenApiExample("Pending", value=_PENDING, response_only=True, status_codes=["200"]),
            OpenApiExample("Approved", value=_APPROVED, response_only=True, status_codes=["200"]),
            NOT_FOUND,
            *AUTH_EXAMPLES,
        ],
    )
    def get(self, request: Request, verification_id: uuid.UUID) -> Response:
        return Response(VerificationSerializer(_found(request, verification_id)).data)


class VerificationCheckView(APIView):
    key_scopes: KeyScopes = {"POST": VERIFY}

    @extend_schema(
        operation_id="verifications_check",
        summary="Check a code against one verification",
        description=_CHECK_DESCRIPTION,
        request=VerificationCheckSerializer,
        responses={200: VerificationSerializer, **error_responses(400, 401, 404, 409, 413, 415, 503)},
        examples=[
            OpenApiExample("Latin digits", value={"code": "482913"}, request_only=True),
            OpenApiExample("Persian digits", value={"code": "۴۸۲۹۱۳"}, request_only=True),
            *_CHECK_RESULTS,
            _INVALID_CODE,
            _ALREADY_APPROVED,
            NOT_FOUND,
            *BODY_EXAMPLES,
            *AUTH_EXAMPLES,
        ],
    )
    def post(self, request: Request, verification_id: uuid.UUID) -> Response:
        serializer = VerificationCheckSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        verification = _found(request, verification_id)
        checked = verification_check(verification=verification, code=serializer.validated_data["code"])
        return Response(VerificationSerializer(checked).data)


class VerificationCheckByPhoneView(APIView):
    key_scopes: KeyScopes = {"POST": VERIFY}

    @extend_schema(
        operation_id="verifications_check_by_phone",
        summary="Check a code against the latest verification of a phone",
        description=_CHECK_DESCRIPTION + " 404 when this client never started a verification for the phone.",
        request=VerificationCheckByPhoneSerializer,
        responses={200: VerificationSerializer, **error_responses(400, 401, 404, 409, 413, 415, 503)},
        examples=[
            OpenApiExample(
                "Check", value={"phone": "09121234567", "template_id": 1, "code": "482913"}, request_only=True
            ),
            *_CHECK_RESULTS,
            _INVALID_CODE,
            *_PHONE_ERRORS,
            _ALREADY_APPROVED,
            NOT_FOUND,
            *BODY_EXAMPLES,
            *AUTH_EXAMPLES,
        ],
    )
    def post(self, request: Request) -> Response:
        serializer = VerificationCheckByPhoneSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        template = verification_template(template_id=data.get("template_id"))
        verification = selectors.verification_latest(
            client=request_client(request), phone=data["phone"], template=template
        )
        if verification is None:
            raise NotFound()
        checked = verification_check(verification=verification, code=data["code"])
        return Response(VerificationSerializer(checked).data)


class VerificationCancelView(APIView):
    key_scopes: KeyScopes = {"POST": VERIFY}

    @extend_schema(
        operation_id="verifications_cancel",
        summary="Cancel a pending verification",
        description="Its code stops working at once. Canceling twice is fine; canceling a final one is a 409.",
        request=None,
        responses={200: VerificationSerializer, **error_responses(401, 404, 409)},
        examples=[
            OpenApiExample("Canceled", value=_CANCELED, response_only=True, status_codes=["200"]),
            error_example(
                409, "not_pending", "This verification is approved; only a pending verification can be canceled."
            ),
            NOT_FOUND,
            *AUTH_EXAMPLES,
        ],
    )
    def post(self, request: Request, verification_id: uuid.UUID) -> Response:
        canceled = verification_cancel(verification=_found(request, verification_id))
        return Response(VerificationSerializer(canceled).data)
