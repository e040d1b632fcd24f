"""What can go wrong when sending, sorted by what the caller must do next.

``ProviderError`` and its two subclasses are the only failures an adapter reports; ``send()`` turns them into
a ``SendResult``. ``ProviderConfigurationError`` is deliberately outside that tree: a broken engine setup is
a bug to fix, and no ``except ProviderError`` may swallow it.
"""

from __future__ import annotations

import enum


class AccountProblem(enum.Enum):
    """What a failure says about our account at the provider, beyond "try the next one".

    Neither is an outage: retrying the same provider will not help until an operator acts (tops up the
    credit, fixes the key or the template).
    """

    OUT_OF_CREDIT = "out_of_credit"
    CONFIGURATION = "configuration"  # the API key or the template was rejected


class ProviderError(Exception):
    """A call failed. ``code`` is the vendor's status code as text, or one of our own (``"timeout"``...).

    ``message`` is short and safe to store: never the API key, the phone number or token values.
    ``problem`` is set when the vendor's code says the account itself needs an operator.
    """

    def __init__(
        self, code: str, message: str = "", *, http_status: int | None = None, problem: AccountProblem | None = None
    ) -> None:
        super().__init__(f"{code}: {message}" if message else code)
        self.code = code
        self.message = message
        self.http_status = http_status
        self.problem = problem


class TryNextProvider(ProviderError):
    """This provider failed (timeout, 5xx, garbage, throttled, out of credit, key or template rejected).

    Another provider may succeed. ``timed_out`` is True when the answer never came after the request was
    sent: this provider may still deliver it, so a retry elsewhere risks a duplicate SMS. ``channel_refused``
    is True when the vendor said the message's channel cannot carry it (a call that cannot read the code
    out): the same message may still go by SMS.
    """

    def __init__(
        self,
        code: str,
        message: str = "",
        *,
        http_status: int | None = None,
        timed_out: bool = False,
        problem: AccountProblem | None = None,
        channel_refused: bool = False,
    ) -> None:
        super().__init__(code, message, http_status=http_status, problem=problem)
        self.timed_out = timed_out
        self.channel_refused = channel_refused


class RecipientRejected(ProviderError):
    """The number itself is invalid: no provider will deliver to it, so stop trying."""


class ProviderConfigurationError(Exception):
    """The engine is set up wrong (unknown kind, empty token, bad api_url). Fix the configuration."""
