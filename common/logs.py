"""The request id that ties an API request to every log line about it, in the API and in the workers.

``RequestIdMiddleware`` takes a caller's ``X-Request-ID`` (or makes one) and keeps it for the request's
duration; the send request stores it, so a worker's lines about that request carry the same id.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_request_id: ContextVar[str] = ContextVar("request_id", default="")


def current_request_id() -> str:
    return _request_id.get()


@contextmanager
def request_id_bound(request_id: str) -> Iterator[None]:
    token = _request_id.set(request_id)
    try:
        yield
    finally:
        _request_id.reset(token)


class RequestIdFilter(logging.Filter):
    """Gives every record a ``request_id``: the one passed in ``extra``, else the current request's, else ""."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", None):
            record.request_id = _request_id.get()
        return True
