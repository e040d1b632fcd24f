"""Kavenegar (api.kavenegar.com, REST v1): template messages through ``verify/lookup``, reports, credit.

Wire format, from kavenegar.com/rest.html and the official clients (kavenegar-python, kavenegar-go): the API
key is a path segment, ``POST /v1/{key}/verify/lookup.json`` with form fields ``receptor``, ``template``,
``token``... Every answer is ``{"return": {"status": <code>, "message": "..."}, "entries": ...}``; 200 is
success with the message in ``entries[0]``, and on errors the HTTP status equals the code.
The lookup's ``type`` field is ``sms`` (the default, so never sent) or ``call``: the code is read out in a
phone call. A call reads a single numeric token; one that cannot read the code out is refused with 428,
and the same message may then go by SMS.
Reports: ``/v1/{key}/sms/status.json`` with ``messageid`` (up to 500 ids, comma separated), ``entries`` a list
of ``{"messageid", "status", "statustext"}``. Credit: ``GET /v1/{key}/account/info.json``,
``entries.remaincredit``.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from providers.base import (
    CALL,
    SMS,
    ErrorCodes,
    HttpRequest,
    Message,
    ProviderAdapter,
    integer,
    iranian_mobile,
    json_object,
    message_id_text,
    unreadable_response,
    vendor_error,
)
from providers.reporting import DeliveryReport, DeliveryState, DeliveryTable, decimal_amount, delivery_report

SUCCESS = 200
ERROR_CODES = ErrorCodes(
    # 411: "the receptor is invalid". Every other code concerns our key, account, IP, credit, template or load.
    recipient=frozenset({411}),
    credit=frozenset({418}),  # "your credit is not enough"
    configuration=frozenset({403, 424}),  # the API key is invalid; the template was not found
    channel=frozenset({428}),  # "the code cannot be sent by a phone call"
)
# entries[].status, as sms/status.json documents it.
DELIVERY_STATES: DeliveryTable = {
    1: (DeliveryState.PENDING, "queued"),
    2: (DeliveryState.PENDING, "scheduled"),
    4: (DeliveryState.PENDING, "sent to the operator"),
    5: (DeliveryState.PENDING, "sent to the operator"),
    6: (DeliveryState.FAILED, "failed"),
    10: (DeliveryState.DELIVERED, "delivered"),
    11: (DeliveryState.UNDELIVERED, "undelivered"),
    13: (DeliveryState.FAILED, "cancelled"),
    14: (DeliveryState.BLOCKED, "blocked by the recipient"),
    100: (DeliveryState.UNKNOWN, "invalid message id"),
}


class KavenegarAdapter(ProviderAdapter):
    kind = "kavenegar"
    label = "Kavenegar"
    status_batch_size = 500
    channels = frozenset({SMS, CALL})

    def _url(self, method: str) -> str:
        # The key is a path segment: quoting keeps a stray "/" or "?" in a pasted key from changing the URL.
        return f"{self.api_url}/v1/{quote(self.config.token, safe='')}/{method}"

    def build_request(self, message: Message) -> HttpRequest:
        # token, token2, token3, token10, token20: only those the caller mapped.
        form = {"receptor": iranian_mobile(message.phone), "template": message.template_code, **message.params}
        # ``type`` follows the channel alone, so no token mapping can turn a text into a call.
        form.pop("type", None)
        if message.channel == CALL:
            form["type"] = CALL
        return HttpRequest(
            method="POST",
            url=self._url("verify/lookup.json"),
            headers={"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"},
            form=form,
        )

    def parse_response(self, status: int, body: bytes) -> str:
        entries = self._entries(status, body)
        first = entries[0] if isinstance(entries, list) and entries else None
        return message_id_text(first.get("messageid") if isinstance(first, dict) else None, status)

    def build_status_request(self, message_ids: Sequence[str]) -> HttpRequest:
        # POST: 500 ids do not fit every proxy's URL limit.
        return HttpRequest(
            method="POST",
            url=self._url("sms/status.json"),
            headers={"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"},
            form={"messageid": ",".join(message_ids)},
        )

    def parse_status_response(self, status: int, body: bytes, message_ids: Sequence[str]) -> list[DeliveryReport]:
        entries = self._entries(status, body)
        if not isinstance(entries, list):
            raise unreadable_response(status)
        asked = set(message_ids)
        reports = []
        for entry in entries:
            message_id = str(entry.get("messageid", "")) if isinstance(entry, dict) else ""
            if message_id in asked:  # an entry about an id we did not ask for is ignored
                text = entry.get("statustext")
                code = integer(entry.get("status"))
                reports.append(
                    delivery_report(message_id, code, DELIVERY_STATES, text=text if isinstance(text, str) else "")
                )
        return reports

    def build_credit_request(self) -> HttpRequest:
        return HttpRequest(method="GET", url=self._url("account/info.json"), headers={"Accept": "application/json"})

    def parse_credit_response(self, status: int, body: bytes) -> Decimal:
        entries = self._entries(status, body)
        credit = decimal_amount(entries.get("remaincredit")) if isinstance(entries, dict) else None
        if credit is None:
            raise unreadable_response(status)
        return credit

    def _entries(self, status: int, body: bytes) -> Any:
        """The envelope's ``entries`` on success; the vendor's error otherwise."""
        envelope = json_object(body) or {}
        result = envelope.get("return")
        code = integer(result.get("status")) if isinstance(result, dict) else None
        if not isinstance(result, dict) or code is None:
            raise unreadable_response(status)
        if code != SUCCESS:
            raise vendor_error(code, str(result.get("message") or ""), http_status=status, codes=ERROR_CODES)
        return envelope.get("entries")
