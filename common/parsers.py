"""JSON parsing with a hard size cap, for bodies sent without a Content-Length."""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from common.exceptions import ApplicationError


class LimitedJSONParser(JSONParser):
    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        raw = stream.read(limit + 1) if stream is not None else b""
        if len(raw) > limit:
            raise ApplicationError("The request body is over 16 KiB.", code="payload_too_large", status_code=413)
        # RecursionError: nesting deeper than the interpreter's limit fits easily in 16 KiB.
        try:
            return json.loads(raw.decode("utf-8"))
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:
            raise ParseError("The body is not valid JSON.") from exc
