"""Middleware that runs before anything else: request ids, a host we serve, bodies of known and bounded size."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.http import HttpRequest, HttpResponse

from common import logs
from common.errors import json_error


class HostCheckMiddleware:
    """Refuses a ``Host`` that ``ALLOWED_HOSTS`` does not allow, in the error shape, on every path.

    Ahead of the fast accept path, so it and everything Django serves share this one check (Django's own,
    ``request.get_host()``); left to Django, the refusal would be its HTML page.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            request.get_host()
        except DisallowedHost:
            return json_error("invalid_host", "The Host header names a host this service does not serve.", 400)
        return self.get_response(request)


class BodySizeLimitMiddleware:
    """Refuses oversized bodies before anything parses them, and bodies whose size is not stated.

    A chunked body has no ``Content-Length``: Django's WSGI request reads it as empty, so it would be
    answered as missing fields, and nothing here could cap it before a parser reads it. Clients send a
    length (every HTTP client does for a JSON body); a buffering proxy in front adds one.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if "HTTP_TRANSFER_ENCODING" in request.META:
            return json_error("length_required", "Send the body with a Content-Length, not chunked.", 411)
        if not request.path.startswith("/admin/"):
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0
            if length > settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
                return json_error("payload_too_large", "The request body is over 16 KiB.", 413)
        return self.get_response(request)


# What a caller's X-Request-ID may be: what tracing systems and load balancers send (UUIDs, hex, dotted
# ids), short enough to store. Anything else is replaced, so a header can never inject into a log line.
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")


class RequestIdMiddleware:
    """Accepts ``X-Request-ID`` or makes one, keeps it for log lines, and returns it on the answer."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        given = request.META.get("HTTP_X_REQUEST_ID", "")
        request_id = given if _REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
        with logs.request_id_bound(request_id):
            response = self.get_response(request)
        response["X-Request-ID"] = request_id
        return response
