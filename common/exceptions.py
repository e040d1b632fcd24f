"""Domain errors services raise; ``common.errors`` turns them into the API's error shape."""

from __future__ import annotations

from typing import Any

HTTP_400 = 400
HTTP_429 = 429


class ApplicationError(Exception):
    """A domain error a service raises; the API layer turns it into the error shape."""

    status_code = HTTP_400
    code = "invalid_request"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        fields: dict[str, Any] | None = None,
        status_code: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.code
        self.fields = fields or {}
        self.status_code = status_code or self.status_code
        self.headers = headers or {}


class RateLimited(ApplicationError):
    status_code = HTTP_429
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: int, code: str | None = None) -> None:
        super().__init__(message, code=code, headers={"Retry-After": str(max(1, retry_after))})
        self.retry_after = max(1, retry_after)
