"""The common case of ``POST /sendsms/`` answered without DRF's per-request machinery.

Accepting is the hot path: a login burst is nothing but these. DRF's dispatch (request wrapping,
content negotiation, authenticator and permission objects, a serializer with bound fields, a Response
rendered through the negotiated renderer) costs more CPU than validating, counting and storing the
request together (``bench/accept_cpu``). So a well-formed request from a known client, with a JSON body
and no ``Idempotency-Key``, is checked and stored here with the same services the DRF view calls.

Anything else, and anything this path is not sure of, goes to the DRF view untouched: every refusal
(401, 400, 413, 415, ...) keeps coming from one place. The checks before the first side effect only
decide; once the limits are counted, an error is answered here through the same exception handler, so
nothing is counted twice. ``messaging.tests.test_accept`` holds both paths to the same answers.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.urls import get_script_prefix, reverse
from rest_framework import serializers
from rest_framework.exceptions import APIException
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from clients.access import SEND, key_access
from clients.models import Client
from common.api import EVERY_REGION, PHONE_MAX_LENGTH
from common.errors import exception_handler
from common.exceptions import ApplicationError
from common.phones import InvalidPhone, normalize_phone
from messaging.api.serializers import SendRequestSerializer
from messaging.models import Templates, VerifyRequests
from messaging.services.limits import client_ip, send_admit
from messaging.services.requests import request_create, template_get, template_tokens

_FIELDS = {"phone", "template_id", "token_value"}
_ACCEPTS = {None, "", "*/*", "application/json"}
_MAX_TEMPLATE_ID = 2_147_483_647
_renderer = JSONRenderer()


class FastAcceptMiddleware:
    """Answers the common ``POST /sendsms/`` before the rest of the middleware and URL routing run.

    It sits after the middleware that shape every answer (body size, security headers, X-Frame-Options)
    and before those the API never needs (sessions, CSRF, users, messages): together with DRF's dispatch
    those cost as much CPU as storing the request (``bench/accept_cpu``).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.path = ""

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not self.path:
            self.path = reverse("sendsms")  # lazily: URLs may not be loaded when middleware is built
        if request.method == "POST" and request.path == self.path:
            response = fast_accept(request)
            if response is not None:
                return response
        return self.get_response(request)


def fast_accept(request: HttpRequest) -> HttpResponse | None:
    """Accept ``request`` and answer 202 (or the error of a counted send), or None for the DRF view to answer."""
    try:
        checked = _checked(request)
    except (InvalidPhone, ApplicationError):
        return None
    except Exception as exc:  # the database or the cache failing: the same answer (503) the DRF view gives
        return _error(exc)
    if checked is None:
        return None
    client, phone, template, tokens = checked
    try:
        send_admit(client=client, phone=phone, ip=client_ip(meta=request.META))
        created = request_create(client=client, phone=phone, template=template, tokens=tokens)
    except Exception as exc:
        return _error(exc)
    response = HttpResponse(_accepted_json(created), status=202, content_type="application/json")
    response["Location"] = _location(created.id)
    response["Allow"] = _ALLOW
    return response


def _checked(request: HttpRequest) -> tuple[Client, str, Templates, dict[str, str]] | None:
    """The request's client, E.164 phone, template and tokens, if this path may accept it; no side effects."""
    meta = request.META
    if (
        "HTTP_IDEMPOTENCY_KEY" in meta
        or meta.get("CONTENT_TYPE") != "application/json"
        or meta.get("HTTP_ACCEPT") not in _ACCEPTS
        or not meta.get("CONTENT_LENGTH")  # the size middleware only caps bodies that state their length
    ):
        return None
    credentials = str(meta.get("HTTP_AUTHORIZATION", "")).split()
    if len(credentials) != 2 or credentials[0].lower() != "token" or not credentials[1].isascii():
        return None
    try:
        client = key_access(key=credentials[1], scopes=SEND)
    except APIException:  # 401 or 403: the DRF view answers it, asking the same function
        return None
    try:
        data = json.loads(request.body.decode())  # as the parser: UTF-8 only, where json.loads(bytes) guesses
    except (ValueError, RecursionError):  # ValueError includes UnicodeDecodeError
        return None
    if type(data) is not dict or data.keys() != _FIELDS:
        return None
    phone, template_id, token_value = data["phone"], data["template_id"], data["token_value"]
    # Only the plain forms: a numeric string, a bool or a float is the DRF view's to judge.
    if type(phone) is not str or type(template_id) is not int or not 1 <= template_id <= _MAX_TEMPLATE_ID:
        return None
    if len(phone) > PHONE_MAX_LENGTH:
        return None
    if type(token_value) is not dict and type(token_value) is not list:
        return None
    phone = normalize_phone(phone.strip(), allowed_regions=EVERY_REGION)
    template = template_get(template_id=template_id)
    return client, phone, template, template_tokens(template=template, token_value=token_value)


def _accepted_json(created: VerifyRequests) -> bytes:
    """What ``SendRequestSerializer(created)`` renders to, for a request just stored: the same bytes (a test
    compares them) without walking the serializer's eleven bound fields, which cost more than the rest
    of the answer. Only a new request's shape is known here; anything else goes through the serializer."""
    if created.flag != VerifyRequests.Flag.PENDING or created.system_id is not None or created.completed_at:
        return _renderer.render(SendRequestSerializer(created).data)
    return _renderer.render(
        {
            "id": created.id,
            "flag": created.flag,
            "phone": created.phone,
            "template_id": created.template_id,
            "tries": created.tries,
            "system": None,
            "provider_message_id": created.provider_message_id,
            "last_error": created.last_error,
            "created_at": _DATETIME.to_representation(created.created_at),
            "updated_at": _DATETIME.to_representation(created.updated_at),
            "completed_at": None,
        }
    )


_DATETIME = serializers.DateTimeField()  # the serializer's own field, so dates are written exactly as there


def _location(request_id: int) -> str:
    """``reverse("sendsms-detail", ...)``, at a tenth of its cost: only the id changes between requests."""
    prefix = get_script_prefix()
    template = _locations.get(prefix)
    if template is None:
        template = _locations[prefix] = reverse("sendsms-detail", kwargs={"request_id": 4242424242}).replace(
            "4242424242", "{}"
        )
    return template.format(request_id)


_locations: dict[str, str] = {}
# What the DRF view says in ``Allow`` (its methods plus the HEAD and OPTIONS it adds).
_ALLOW = "GET, POST, HEAD, OPTIONS"


def _error(exc: Exception) -> HttpResponse:
    """The DRF view's answer to ``exc``; an exception it would not handle propagates as it would there."""
    response = exception_handler(exc, {})
    if response is None:
        raise exc
    return _rendered(response)


def _rendered(response: Response) -> Response:
    response.accepted_renderer = _renderer
    response.accepted_media_type = _renderer.media_type
    response.renderer_context = {}  # type: ignore[attr-defined]
    response["Allow"] = _ALLOW
    return response.render()  # type: ignore[return-value]
