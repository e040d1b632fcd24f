"""What can go wrong when sending, sorted by what the caller must do next.

``ProviderError`` and its two subclasses are the only failures an adapter reports; ``send()`` turns them into
a ``SendResult``. ``ProviderConfigurationError`` is deliberately outside that tree: a broken engine setup is
a bug to fix, and no ``except ProviderError`` may swallow it.
"""

from __future__ import annotations


class ProviderError(Exception):
    """A send failed. ``code`` is the vendor's status code as text, or one of our own (``"timeout"``...).

    ``message`` is short and safe to store: never the API key, the phone number or token values.
    """

    def __init__(self, code: str, message: str = "", *, http_status: int | None = None) -> None:
        super().__init__(f"{code}: {message}" if message else code)
        self.code = code
        self.message = message
        self.http_status = http_status


class TryNextProvider(ProviderError):
    """This provider failed (timeout, 5xx, garbage, throttled, out of credit, key or template rejected).

    Another provider may succeed. ``timed_out`` is True when the answer never came after the request was
    sent: this provider may still deliver it, so a retry elsewhere risks a duplicate SMS.
    """

    def __init__(
        self, code: str, message: str = "", *, http_status: int | None = None, timed_out: bool = False
    ) -> None:
        super().__init__(code, message, http_status=http_status)
        self.timed_out = timed_out


class RecipientRejected(ProviderError):
    """The number itself is invalid: no provider will deliver to it, so stop trying."""


class ProviderConfigurationError(Exception):
    """The engine is set up wrong (unknown kind, empty token, bad api_url). Fix the configuration."""
