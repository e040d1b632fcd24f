"""Kavenegar (api.kavenegar.com, REST v1): template messages through ``verify/lookup``.

Wire format, from kavenegar.com/rest.html and the official clients (kavenegar-python, kavenegar-go): the API
key is a path segment, ``POST /v1/{key}/verify/lookup.json`` with form fields ``receptor``, ``template``,
``token``... Every answer is ``{"return": {"status": <code>, "message": "..."}, "entries": ...}``; 200 is
success with the message in ``entries[0]``, and on errors the HTTP status equals the code.
"""

from __future__ import annotations

from urllib.parse import quote

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

SUCCESS = 200
# 411: "the receptor is invalid". Every other code concerns our key, account, IP, credit, template or load.
INVALID_RECIPIENT_CODES = frozenset({411})


class KavenegarAdapter(ProviderAdapter):
    kind = "kavenegar"
    label = "Kavenegar"

    def build_request(self, message: Message) -> HttpRequest:
        # The key is a path segment: quoting keeps a stray "/" or "?" in a pasted key from changing the URL.
        key = quote(self.config.token, safe="")
        return HttpRequest(
            method="POST",
            url=f"{self.api_url}/v1/{key}/verify/lookup.json",
            headers={"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"},
            # token, token2, token3, token10, token20 and type: only those the caller mapped.
            form={"receptor": iranian_mobile(message.phone), "template": message.template_code, **message.params},
        )

    def parse_response(self, status: int, body: bytes) -> str:
        envelope = json_object(body) or {}
        result = envelope.get("return")
        code = integer(result.get("status")) if isinstance(result, dict) else None
        if not isinstance(result, dict) or code is None:
            raise unreadable_response(status)
        if code == SUCCESS:
            entries = envelope.get("entries")
            first = entries[0] if isinstance(entries, list) and entries else None
            return message_id_text(first.get("messageid") if isinstance(first, dict) else None, status)
        raise vendor_error(
            code,
            str(result.get("message") or ""),
            http_status=status,
            recipient_codes=INVALID_RECIPIENT_CODES,
        )
