"""The types every adapter shares, and the one call algorithm: build, call with timeouts, parse, classify.

A vendor module subclasses ``ProviderAdapter`` and fills in pairs of hooks: ``build_request`` and
``parse_response`` for a send, ``build_status_request`` and ``parse_status_response`` for delivery reports,
``build_credit_request`` and ``parse_credit_response`` for the account's credit. It never overrides ``send``,
``fetch_status`` or ``fetch_credit``: if a vendor seems to need that, a hook is missing here. A vendor that can
also read a code out in a phone call lists ``CALL`` in ``channels`` and reads ``Message.channel`` when building.
Nothing in this package imports Django, so the simulator and these adapters run in any process.
"""

from __future__ import annotations

import abc
import enum
import errno
import json
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, ClassVar
from urllib.parse import urlsplit

import aiohttp

from providers.exceptions import (
    AccountProblem,
    ProviderConfigurationError,
    ProviderError,
    RecipientRejected,
    TryNextProvider,
)
from providers.reporting import CreditResult, DeliveryReport, StatusResult

# Connect and read each have their own limit; the margin only covers writing the request and the body.
_TOTAL_TIMEOUT_MARGIN = 1.0
_MAX_ERROR_MESSAGE = 200
# Shorter secrets (a one-digit token) are not worth blanking out every matching character of a message.
_MIN_REDACTED_LENGTH = 3
# The last nine digits of a mobile number appear contiguously in every way it can be written.
_PHONE_TAIL = 9
_RESET_ERRNOS = frozenset({errno.ECONNRESET, errno.EPIPE, errno.ECONNABORTED})

# How a message reaches the phone: a text, or a phone call that reads the code out.
SMS = "sms"
CALL = "call"


class Outcome(enum.Enum):
    SENT = "sent"
    TRY_NEXT = "try_next"  # this provider failed; another provider may succeed
    RECIPIENT_REJECTED = "rejected"  # the number is invalid: no provider will succeed, stop


@dataclass(frozen=True)
class EngineConfig:
    """One provider account, built by the caller from its database row: adapters know no models."""

    api_url: str
    token: str
    connect_timeout: float
    read_timeout: float


@dataclass(frozen=True)
class Message:
    phone: str  # E.164, "+989121234567"
    template_code: str  # the template's id or name inside the provider
    params: dict[str, str]  # vendor parameter name -> value, already mapped by the caller
    channel: str = SMS  # SMS or CALL


@dataclass(frozen=True)
class HttpRequest:
    method: str
    url: str
    headers: dict[str, str]
    json: Any | None = None
    form: dict[str, str] | None = None


@dataclass(frozen=True)
class SendResult:
    outcome: Outcome
    message_id: str = ""
    error_code: str = ""  # vendor status code as text, or ours: "timeout", "connect_error", "http_500"...
    error_message: str = ""  # short; never the API key, the phone number or token values
    http_status: int | None = None
    latency_ms: int = 0
    timed_out: bool = False  # the read timed out after sending: the provider may have accepted it
    problem: AccountProblem | None = None  # the account needs an operator (credit, key, template)
    channel_refused: bool = False  # the vendor refused the message's channel, not the message: SMS may carry it


class ProviderAdapter(abc.ABC):
    """Base of every vendor adapter.

    A subclass sets ``kind`` (the registry key stored on engines) and ``label`` (shown in the admin), widens
    ``channels`` when its vendor carries more than SMS, and implements ``build_request`` and ``parse_response``.
    The constructor rejects an unusable configuration with ``ProviderConfigurationError``; after that, ``send``
    never raises for a vendor or network failure.
    """

    kind: ClassVar[str]
    label: ClassVar[str]
    # How many message ids one status call may ask about (the vendor's documented limit).
    status_batch_size: ClassVar[int] = 1
    # The channels ``build_request`` can put a message on; ``send`` refuses any other without a request.
    channels: ClassVar[frozenset[str]] = frozenset({SMS})

    def __init__(self, config: EngineConfig) -> None:
        api_url = config.api_url.strip().rstrip("/")
        parts = urlsplit(api_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ProviderConfigurationError(f"{self.kind}: api_url must be an http(s) URL")
        if not config.token.strip():
            raise ProviderConfigurationError(f"{self.kind}: the API token is empty")
        if config.connect_timeout <= 0 or config.read_timeout <= 0:
            raise ProviderConfigurationError(f"{self.kind}: timeouts must be positive")
        self.config = config
        self.api_url = api_url
        # The longest a call through this adapter can take, from its start to its result.
        self.max_call_seconds = config.connect_timeout + config.read_timeout + _TOTAL_TIMEOUT_MARGIN
        # Built once: an adapter serves every send of its engine, and this was a measurable share of each.
        self.timeout = aiohttp.ClientTimeout(
            total=self.max_call_seconds,
            # ``connect`` also bounds DNS and the pool wait, which ``sock_connect`` alone does not.
            connect=config.connect_timeout,
            sock_connect=config.connect_timeout,
            sock_read=config.read_timeout,
        )

    @abc.abstractmethod
    def build_request(self, message: Message) -> HttpRequest:
        """Return the vendor's HTTP request for ``message``; ``self.api_url`` has no trailing slash.

        ``message.channel`` is one of ``channels``: ``send`` never passes another.

        Raise ``TryNextProvider`` or ``RecipientRejected`` for a message this vendor cannot send.
        """

    @abc.abstractmethod
    def parse_response(self, status: int, body: bytes) -> str:
        """Return the provider's message id, or raise ``TryNextProvider`` / ``RecipientRejected``.

        Called with the HTTP status and the raw body whatever the status, because vendors put their error
        codes in 4xx and 5xx bodies. The helpers below this class (``json_object``, ``integer``,
        ``unreadable_response``, ``vendor_error``, ``message_id_text``) cover the common cases. Messages
        put in the exceptions must not echo request values.
        """

    @abc.abstractmethod
    def build_status_request(self, message_ids: Sequence[str]) -> HttpRequest:
        """Return the request asking for the delivery state of ``message_ids`` (at most ``status_batch_size``)."""

    @abc.abstractmethod
    def parse_status_response(self, status: int, body: bytes, message_ids: Sequence[str]) -> list[DeliveryReport]:
        """Return a report for each id the vendor answered about (``providers.reporting.delivery_report`` maps a
        code through the vendor's table), or raise ``TryNextProvider`` when the answer says nothing usable:
        then no state changes and the ids are asked about again later."""

    @abc.abstractmethod
    def build_credit_request(self) -> HttpRequest:
        """Return the request asking for the account's remaining credit."""

    @abc.abstractmethod
    def parse_credit_response(self, status: int, body: bytes) -> Decimal:
        """Return the remaining credit, or raise ``TryNextProvider`` (with ``problem`` when the vendor's code says
        the key is wrong)."""

    async def send(self, session: aiohttp.ClientSession, message: Message) -> SendResult:
        """Send ``message`` once through this provider and classify what happened.

        Every vendor and network failure becomes a ``SendResult``; only ``ProviderConfigurationError`` (and
        cancellation) propagate.
        """
        started = time.monotonic()
        try:
            if message.channel not in self.channels:
                raise TryNextProvider("unsupported_channel", f"{self.label} does not carry {message.channel} messages")
            request = self.build_request(message)
            status, body = await self._exchange(session, request)
            message_id = self.parse_response(status, body)
        except ProviderError as exc:
            return SendResult(
                outcome=Outcome.RECIPIENT_REJECTED if isinstance(exc, RecipientRejected) else Outcome.TRY_NEXT,
                error_code=exc.code,
                error_message=self._redact(exc.message, message),
                http_status=exc.http_status,
                latency_ms=_elapsed_ms(started),
                timed_out=isinstance(exc, TryNextProvider) and exc.timed_out,
                problem=exc.problem,
                channel_refused=isinstance(exc, TryNextProvider) and exc.channel_refused,
            )
        return SendResult(
            outcome=Outcome.SENT, message_id=message_id, http_status=status, latency_ms=_elapsed_ms(started)
        )

    async def fetch_status(self, session: aiohttp.ClientSession, message_ids: Sequence[str]) -> StatusResult:
        """Ask once about ``message_ids``. Never raises for a vendor or network failure: a failed call is a
        ``StatusResult`` with ``error_code`` and no reports."""
        started = time.monotonic()
        try:
            request = self.build_status_request(message_ids)
            status, body = await self._exchange(session, request)
            reports = self.parse_status_response(status, body, message_ids)
        except ProviderError as exc:
            return StatusResult(
                error_code=exc.code,
                error_message=self._redact_all(exc.message, ()),
                problem=exc.problem,
                latency_ms=_elapsed_ms(started),
            )
        return StatusResult(reports=tuple(reports), latency_ms=_elapsed_ms(started))

    async def fetch_credit(self, session: aiohttp.ClientSession) -> CreditResult:
        """Ask once for the account's credit. Never raises for a vendor or network failure."""
        started = time.monotonic()
        try:
            status, body = await self._exchange(session, self.build_credit_request())
            credit = self.parse_credit_response(status, body)
        except ProviderError as exc:
            return CreditResult(
                error_code=exc.code,
                error_message=self._redact_all(exc.message, ()),
                problem=exc.problem,
                latency_ms=_elapsed_ms(started),
            )
        return CreditResult(credit=credit, latency_ms=_elapsed_ms(started))

    async def _exchange(self, session: aiohttp.ClientSession, request: HttpRequest) -> tuple[int, bytes]:
        # aiohttp's exception texts contain the URL, and Kavenegar's URL contains the API key: only our
        # own fixed texts leave this method.
        try:
            async with session.request(
                request.method,
                request.url,
                headers=request.headers,
                json=request.json,
                data=request.form,
                timeout=self.timeout,
                raise_for_status=False,
                # A redirect would re-send a one-time code somewhere nobody configured.
                allow_redirects=False,
            ) as response:
                return response.status, await response.read()
        except aiohttp.ConnectionTimeoutError:
            raise TryNextProvider("timeout", "connecting timed out") from None
        except TimeoutError:
            # Read or total timeout: the request was already written, so the provider may act on it.
            raise TryNextProvider("timeout", "no answer within the read timeout", timed_out=True) from None
        except aiohttp.ClientConnectorError:
            raise TryNextProvider("connect_error", "could not connect") from None
        except (aiohttp.ServerDisconnectedError, aiohttp.ClientPayloadError):
            raise TryNextProvider("connection_reset", "connection closed before a complete answer") from None
        except (aiohttp.ClientError, OSError) as exc:
            if isinstance(exc, OSError) and exc.errno in _RESET_ERRNOS:
                raise TryNextProvider("connection_reset", "connection reset by the provider") from None
            raise TryNextProvider("network_error", type(exc).__name__) from None

    def _redact(self, text: str, message: Message) -> str:
        digits = "".join(ch for ch in message.phone if ch.isdigit())
        return self._redact_all(text, (digits[-_PHONE_TAIL:], *message.params.values()))

    def _redact_all(self, text: str, secrets: Iterable[str]) -> str:
        # Vendors write their own error texts; one might echo the request (and so the key) back at us.
        for secret in (self.config.token, *secrets):
            if len(secret) >= _MIN_REDACTED_LENGTH:
                text = text.replace(secret, "***")
        return text[:_MAX_ERROR_MESSAGE]


def json_object(body: bytes) -> dict[str, Any] | None:
    """The body as a JSON object, or None when it is anything else (an HTML error page, a truncated body)."""
    try:
        value = json.loads(body)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


# Whatever the body says, these HTTP statuses mean the key (or the account behind it) was refused.
_KEY_REFUSED_STATUSES = frozenset({401, 403})


def unreadable_response(status: int) -> TryNextProvider:
    """The error for a body that is not the vendor's envelope: ``http_<status>``, or ``bad_response`` on 200."""
    code = "bad_response" if status == 200 else f"http_{status}"
    problem = AccountProblem.CONFIGURATION if status in _KEY_REFUSED_STATUSES else None
    return TryNextProvider(code, "unexpected response body", http_status=status, problem=problem)


def integer(value: object) -> int | None:
    """``value`` if it is a JSON integer (not a bool, not a float), else None."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


@dataclass(frozen=True)
class ErrorCodes:
    """A vendor's error classification: the codes that condemn the number, those that need an operator, and
    those that refuse the message's channel (another channel may still carry it)."""

    recipient: frozenset[int] = frozenset()
    credit: frozenset[int] = frozenset()
    configuration: frozenset[int] = frozenset()  # the key or the template was refused
    channel: frozenset[int] = frozenset()  # this channel cannot carry this message (a call cannot read it out)

    def problem(self, code: int, http_status: int) -> AccountProblem | None:
        if code in self.credit:
            return AccountProblem.OUT_OF_CREDIT
        if code in self.configuration or http_status in _KEY_REFUSED_STATUSES:
            return AccountProblem.CONFIGURATION
        return None


def vendor_error(code: int, message: str, *, http_status: int, codes: ErrorCodes) -> ProviderError:
    """The exception for a vendor's error code: ``RecipientRejected`` for the codes that condemn the number,
    else ``TryNextProvider``, carrying what the code says about the account and the channel."""
    if code in codes.recipient:
        return RecipientRejected(str(code), message, http_status=http_status)
    return TryNextProvider(
        str(code),
        message,
        http_status=http_status,
        problem=codes.problem(code, http_status),
        channel_refused=code in codes.channel,
    )


def message_id_text(value: object, status: int) -> str:
    """The vendor's message id as text; a success without a usable id is a ``bad_response``."""
    if integer(value) is not None:
        return str(value)
    if isinstance(value, str) and value.strip():
        return value.strip()
    raise TryNextProvider("bad_response", "success without a message id", http_status=status)


def iranian_mobile(phone: str) -> str:
    """``+989121234567`` -> ``09121234567``, the receptor form both Iranian vendors document."""
    if not (phone.startswith("+98") and phone[3:].isdigit() and phone.isascii()):
        # Another provider may reach foreign numbers; this one is not documented to.
        raise TryNextProvider("unsupported_number", "this provider sends to Iranian numbers only")
    return "0" + phone[3:]


def _elapsed_ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
