"""Middleware that runs before anything else: request ids, and oversized bodies refused unparsed."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from common import logs
from common.errors import json_error


class BodySizeLimitMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
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
