"""Plain-function factories for messaging rows. Each returns a saved row; keyword arguments override fields.

Nothing here publishes to the broker or talks to a provider: a request made with ``make_request`` sits in
the database exactly as the API would have stored it.
"""

from __future__ import annotations

import itertools
from typing import Any

from clients.models import Client
from common.sealing import seal
from messaging.models import Attempt, Engine, Templates, TemplatesEngine, VerifyRequests

_sequence = itertools.count(1)


def make_engine(**fields: Any) -> Engine:
    """An enabled SMS.IR engine with a unique name; pass ``kind="kavenegar"`` etc. to change it."""
    number = next(_sequence)
    values: dict[str, Any] = {
        "name": f"engine-{number}",
        "kind": "smsir",
        "api_url": "http://127.0.0.1:8900/smsir",
        "provider_token": f"provider-key-{number}",
        "priority": 10 * number,
    }
    values.update(fields)
    return Engine.objects.create(**values)


def make_template(template_id: int = 1, token_names: list[str] | None = None, **fields: Any) -> Templates:
    """A template clients know as ``template_id``, taking ``token_names`` (default ``["code"]``)."""
    values: dict[str, Any] = {"name": f"template {template_id}", "token_names": token_names or ["code"]}
    values.update(fields)
    return Templates.objects.create(template_id=template_id, **values)


def make_mapping(
    *, template: Templates, engine: Engine, template_code: str = "100000", token_keys: dict[str, str] | None = None
) -> TemplatesEngine:
    """How ``engine`` names ``template``; token keys default to the template's own token names."""
    keys = token_keys if token_keys is not None else {name: name for name in template.token_names}
    return TemplatesEngine.objects.create(
        template=template, engine=engine, template_code=template_code, token_keys=keys
    )


def make_request(
    client: Client,
    *,
    template: Templates | None = None,
    tokens: dict[str, str] | None = None,
    phone: str = "+989121234567",
    **fields: Any,
) -> VerifyRequests:
    """A stored request of ``client``, tokens sealed as the API seals them; not published.

    ``template`` defaults to template 1 (created with ``make_template`` if missing), ``tokens`` to
    ``{"code": "123456"}``. Other keyword arguments (``flag``, ``tries``, ``created_at`` ...) set fields.
    """
    if template is None:
        template = Templates.objects.filter(template_id=1).first() or make_template()
    return VerifyRequests.objects.create(
        request_sender=client,
        phone=phone,
        template=template,
        token_value=seal(tokens if tokens is not None else {"code": "123456"}),
        **fields,
    )


def make_attempt(request: VerifyRequests, engine: Engine, **fields: Any) -> Attempt:
    """One attempt of ``request`` at ``engine``; defaults to a successful first-round send."""
    values: dict[str, Any] = {"round": 1, "outcome": Attempt.Outcome.SENT, "http_status": 200, "latency_ms": 10}
    values.update(fields)
    return Attempt.objects.create(request=request, engine=engine, **values)
