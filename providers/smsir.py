"""SMS.IR (api.sms.ir, REST v1): template ("verify") messages, their delivery reports, and the credit.

Wire format, from sms.ir's REST docs and its official SDKs (IPeCompany/SmsPanelV2.*): ``POST /v1/send/verify``
with the key in ``x-api-key`` and a JSON body. Every answer, success or error, is the envelope
``{"status": <code>, "message": "...", "data": ...}``; 1 means success and ``data.messageId`` is the id.
Errors come with HTTP 400 (logic), 401 (key/account), 429 (throttled) or 500 (server).
A message's report is ``GET /v1/send/{messageId}`` (one id per call): ``data.deliveryState`` and
``data.deliveryDateTime`` (Unix seconds). The credit is ``GET /v1/credit``, ``data`` a number.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from urllib.parse import quote

from providers.base import (
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
from providers.reporting import DeliveryReport, DeliveryState, DeliveryTable, decimal_amount, delivery_report, unix_time

SUCCESS = 1
ERROR_CODES = ErrorCodes(
    # 104: "the request has invalid mobile number(s)". Every other code is about our key, account, line,
    # credit, template or load, none of which another provider shares.
    recipient=frozenset({104}),
    credit=frozenset({102}),  # "not enough credit"
    # 10: the key is invalid; 113: the template was not found. 11-14 (key or account disabled) come as HTTP 401.
    configuration=frozenset({10, 113}),
)
# data.deliveryState, as the message report documents it.
DELIVERY_STATES: DeliveryTable = {
    1: (DeliveryState.DELIVERED, "delivered to the handset"),
    2: (DeliveryState.UNDELIVERED, "not delivered to the handset"),
    3: (DeliveryState.PENDING, "at the operator"),
    4: (DeliveryState.FAILED, "not delivered to the operator"),
    5: (DeliveryState.PENDING, "delivered to the operator"),
    6: (DeliveryState.FAILED, "failed"),
    7: (DeliveryState.BLOCKED, "blacklisted"),
    8: (DeliveryState.PENDING, "unknown"),  # not final: the operator may still report
}


class SmsIrAdapter(ProviderAdapter):
    kind = "smsir"
    label = "SMS.IR"

    def _headers(self) -> dict[str, str]:
        return {"x-api-key": self.config.token, "Accept": "application/json"}

    def build_request(self, message: Message) -> HttpRequest:
        code = message.template_code
        return HttpRequest(
            method="POST",
            url=f"{self.api_url}/v1/send/verify",
            headers={**self._headers(), "Content-Type": "application/json"},
            json={
                "mobile": iranian_mobile(message.phone),
                # Template ids are numbers in the SMS.IR panel and the API documents them as integers.
                "templateId": int(code) if code.isdigit() else code,
                "parameters": [{"name": name, "value": value} for name, value in message.params.items()],
            },
        )

    def parse_response(self, status: int, body: bytes) -> str:
        data = self._data(status, body)
        return message_id_text(data.get("messageId") if isinstance(data, dict) else None, status)

    def build_status_request(self, message_ids: Sequence[str]) -> HttpRequest:
        [message_id] = message_ids
        return HttpRequest(
            method="GET", url=f"{self.api_url}/v1/send/{quote(message_id, safe='')}", headers=self._headers()
        )

    def parse_status_response(self, status: int, body: bytes, message_ids: Sequence[str]) -> list[DeliveryReport]:
        data = self._data(status, body)
        if not isinstance(data, dict):
            raise unreadable_response(status)
        code = integer(data.get("deliveryState"))
        delivered_at = unix_time(data.get("deliveryDateTime"))
        return [delivery_report(message_ids[0], code, DELIVERY_STATES, delivered_at=delivered_at)]

    def build_credit_request(self) -> HttpRequest:
        return HttpRequest(method="GET", url=f"{self.api_url}/v1/credit", headers=self._headers())

    def parse_credit_response(self, status: int, body: bytes) -> Decimal:
        credit = decimal_amount(self._data(status, body))
        if credit is None:
            raise unreadable_response(status)
        return credit

    def _data(self, status: int, body: bytes) -> object:
        """The envelope's ``data`` on success; the vendor's error otherwise."""
        envelope = json_object(body) or {}
        code = integer(envelope.get("status"))
        if code is None:
            raise unreadable_response(status)
        if code != SUCCESS:
            raise vendor_error(code, str(envelope.get("message") or ""), http_status=status, codes=ERROR_CODES)
        return envelope.get("data")
