"""SMS.IR (api.sms.ir, REST v1): template ("verify") messages.

Wire format, from sms.ir's REST docs and its official SDKs (IPeCompany/SmsPanelV2.*): ``POST /v1/send/verify``
with the key in ``x-api-key`` and a JSON body. Every answer, success or error, is the envelope
``{"status": <code>, "message": "...", "data": ...}``; 1 means success and ``data.messageId`` is the id.
Errors come with HTTP 400 (logic), 401 (key/account), 429 (throttled) or 500 (server).
"""

from __future__ import annotations

from providers.base import (
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

SUCCESS = 1
# 104: "the request has invalid mobile number(s)". Every other code is about our key, account, line,
# credit, template or load, none of which another provider shares.
INVALID_RECIPIENT_CODES = frozenset({104})


class SmsIrAdapter(ProviderAdapter):
    kind = "smsir"
    label = "SMS.IR"

    def build_request(self, message: Message) -> HttpRequest:
        code = message.template_code
        return HttpRequest(
            method="POST",
            url=f"{self.api_url}/v1/send/verify",
            headers={
                "x-api-key": self.config.token,
                "Content-Type": "application/json",
                "Accept": "application/json",
            },
            json={
                "mobile": iranian_mobile(message.phone),
                # Template ids are numbers in the SMS.IR panel and the API documents them as integers.
                "templateId": int(code) if code.isdigit() else code,
                "parameters": [{"name": name, "value": value} for name, value in message.params.items()],
            },
        )

    def parse_response(self, status: int, body: bytes) -> str:
        envelope = json_object(body) or {}
        code = integer(envelope.get("status"))
        if code is None:
            raise unreadable_response(status)
        if code == SUCCESS:
            data = envelope.get("data")
            return message_id_text(data.get("messageId") if isinstance(data, dict) else None, status)
        raise vendor_error(
            code,
            str(envelope.get("message") or ""),
            http_status=status,
            recipient_codes=INVALID_RECIPIENT_CODES,
        )
