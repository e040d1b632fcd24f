"""One request id, one blocking ``urllib`` POST to SMS.IR, one row update: the seed's design, no failover."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

from bench.seed.celery import app

SMSIR_ENGINE = "smsir"


@app.task(name="messaging.deliver_request", ignore_result=True)
def deliver_request(request_id: int) -> None:
    # Django is set up by the worker before tasks run; models are imported here, not at module import.
    from django.utils import timezone

    from common.sealing import unseal
    from messaging.models import TemplatesEngine, VerifyRequests

    Flag = VerifyRequests.Flag
    if not VerifyRequests.objects.filter(id=request_id, flag=Flag.PENDING).update(flag=Flag.SENDING):
        return
    request = VerifyRequests.objects.get(id=request_id)
    route = TemplatesEngine.objects.select_related("engine").get(
        template__template_id=request.template_id, engine__name=SMSIR_ENGINE
    )
    tokens = unseal(request.token_value)
    body = {
        "mobile": "0" + request.phone.removeprefix("+98"),
        "templateId": int(route.template_code),
        "parameters": [{"name": route.token_keys.get(name, name), "value": value} for name, value in tokens.items()],
    }
    call = urllib.request.Request(
        f"{route.engine.api_url}/v1/send/verify",
        data=json.dumps(body).encode(),
        method="POST",
        headers={"x-api-key": route.engine.provider_token, "Content-Type": "application/json"},
    )
    message_id, error = "", ""
    try:
        with urllib.request.urlopen(call, timeout=route.engine.connect_timeout + route.engine.read_timeout) as answer:
            envelope = json.loads(answer.read())
        message_id = str((envelope.get("data") or {}).get("messageId") or "")
        error = "" if envelope.get("status") == 1 else str(envelope.get("status"))
    except (urllib.error.URLError, OSError, ValueError) as exc:
        error = type(exc).__name__
    now = timezone.now()
    VerifyRequests.objects.filter(id=request_id).update(
        flag=Flag.FAILED if error else Flag.DONE,
        tries=request.tries + 1,
        rounds=request.rounds + 1,
        system=None if error else route.engine,
        provider_message_id=message_id[:64],
        last_error=error[:255],
        completed_at=now,
        updated_at=now,
    )
