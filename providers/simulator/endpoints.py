"""The vendors' own endpoints: send, delivery status and credit, for SMS.IR and for Kavenegar.

Checks run in the order the vendors apply them: the key first (SMS.IR 401/10, Kavenegar 403), then any
injected fault, then the request's own shape, whether the number takes calls (for a call), the template, and
the key's credit.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from typing import Any

from aiohttp import web

from providers.simulator import wire
from providers.simulator.sandbox import CALL
from providers.simulator.state import NAMED_ERROR_MODES, STATE, Fault
from providers.simulator.wire import KAVENEGAR, SMSIR, Answer, Received, Vendor

# "Never answer": long enough for any client read timeout, cut short when the simulator stops.
_HANG_SECONDS = 3600.0
# Kavenegar's documented limit on ids per sms/status.json call.
KAVENEGAR_MAX_STATUS_IDS = 500


def _json(answer: Answer) -> web.Response:
    return web.json_response(answer.body, status=answer.status, dumps=wire.dumps)


async def _faulted(request: web.Request, fault: Fault, vendor: Vendor) -> web.StreamResponse | None:
    """The answer an injected fault gives instead of the real one, or None to answer for real."""
    if fault.latency_ms:
        await asyncio.sleep(fault.latency_ms / 1000)
    if fault.mode == "timeout":
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(request.app[STATE].stopping.wait(), _HANG_SECONDS)
        return web.Response(status=503)
    if fault.mode == "reset":
        if request.transport is not None:
            request.transport.abort()
        return web.Response(status=499)  # never delivered: the connection is gone
    if fault.mode == "http500":
        return web.Response(status=500, text="Internal Server Error")
    if fault.mode == "garbage":
        return web.Response(status=200, text="<html>oops", content_type="text/html")
    if fault.mode == "error" and fault.code is not None:
        return _json(vendor.error(fault.code))
    if fault.mode in NAMED_ERROR_MODES:
        return _json(vendor.error(vendor.codes[fault.mode]))
    return None


async def _send(request: web.Request, vendor: Vendor, received: Received) -> web.StreamResponse:
    state = request.app[STATE]
    account = state.accounts[vendor.name]
    record: dict[str, Any] = {
        "provider": vendor.name,
        "path": request.path,
        "headers": dict(request.headers),
        "body": received.body,
        # Recorded in the form the gateway stores, so tests compare it with what they asked to send.
        "mobile": "+98" + received.national[1:] if received.national else received.receptor,
        "params": received.params,
        "template": received.template,
        "channel": received.channel,
        "received_at": time.time(),
        "status_returned": None,
        "message_id": None,
        "fate": None,
    }
    state.records[vendor.name].append(record)
    if received.key not in account.balances:
        response: web.StreamResponse = _json(vendor.error(vendor.codes["bad_key"]))
    else:
        fault = state.take_fault(vendor.name)
        faulted = await _faulted(request, fault, vendor)
        if faulted is not None:
            if fault.mode not in ("timeout", "reset"):
                record["status_returned"] = faulted.status
            return faulted
        response = _accept(vendor, received, record, request.app)
    record["status_returned"] = response.status
    return response


def _accept(vendor: Vendor, received: Received, record: dict[str, Any], app: web.Application) -> web.Response:
    state = app[STATE]
    account = state.accounts[vendor.name]
    code = received.problem
    if code is None and received.channel == CALL and not account.takes_calls_to(received.national):
        code = vendor.codes["not_callable"]
    if code is None and received.template not in account.templates:
        code = vendor.codes["template_not_found"]
    if code is None and not account.charge(received.key, vendor.cost):
        code = vendor.codes["credit"]
    if code is not None:
        return _json(vendor.error(code))
    message_id = next(state.ids[vendor.name])
    message = account.accept(
        message_id,
        key=received.key,
        receptor=received.national,
        channel=received.channel,
        text=wire.message_text(received),
        cost=vendor.cost,
        now=time.time(),
    )
    record["message_id"] = message_id
    record["fate"] = message.fate.value  # what the handset will get: tests act as the person holding it
    return _json(vendor.success(message_id, message))


async def smsir_verify(request: web.Request) -> web.StreamResponse:
    try:
        body = json.loads(await request.read())
    except ValueError:
        body = None
    return await _send(request, SMSIR, wire.smsir_received(body, request.headers.get("x-api-key", "")))


async def _kavenegar_fields(request: web.Request) -> dict[str, str]:
    # Kavenegar takes its parameters from the query string or a form body, over GET or POST alike.
    fields = dict(request.query)
    if request.method == "POST":
        fields.update((name, str(value)) for name, value in (await request.post()).items())
    return fields


async def kavenegar_lookup(request: web.Request) -> web.StreamResponse:
    fields = await _kavenegar_fields(request)
    return await _send(request, KAVENEGAR, wire.kavenegar_received(fields, request.match_info["key"]))


async def _guarded(request: web.Request, vendor: Vendor, key: str, endpoint: str) -> web.StreamResponse | None:
    """The wrong-key answer or an injected fault for a status or credit call; None to answer for real."""
    state = request.app[STATE]
    if key not in state.accounts[vendor.name].balances:
        return _json(vendor.error(vendor.codes["bad_key"]))
    return await _faulted(request, state.take_fault(vendor.name, endpoint), vendor)


async def smsir_report(request: web.Request) -> web.StreamResponse:
    account = request.app[STATE].accounts[SMSIR.name]
    account.status_calls += 1
    account.status_ids += 1
    key = request.headers.get("x-api-key", "")
    refused = await _guarded(request, SMSIR, key, "status")
    if refused is not None:
        return refused
    asked = request.match_info["message_id"]
    message = account.message_of(key, int(asked)) if asked.isdigit() else None
    if message is None:
        return _json(wire.smsir_error(111))  # "nothing was sent with this id"
    return _json(wire.smsir_report(int(asked), message, time.time()))


async def smsir_credit(request: web.Request) -> web.StreamResponse:
    account = request.app[STATE].accounts[SMSIR.name]
    account.credit_calls += 1
    key = request.headers.get("x-api-key", "")
    refused = await _guarded(request, SMSIR, key, "credit")
    # Not ``refused or ...``: a response is a mapping, and an empty one is falsy.
    return refused if refused is not None else _json(wire.smsir_credit(account.balances[key]))


async def kavenegar_status(request: web.Request) -> web.StreamResponse:
    account = request.app[STATE].accounts[KAVENEGAR.name]
    account.status_calls += 1
    key = request.match_info["key"]
    refused = await _guarded(request, KAVENEGAR, key, "status")
    if refused is not None:
        return refused
    fields = await _kavenegar_fields(request)
    asked = [part.strip() for part in fields.get("messageid", "").split(",") if part.strip()]
    if not asked:
        return _json(wire.kavenegar_error(400))
    if len(asked) > KAVENEGAR_MAX_STATUS_IDS:
        return _json(wire.kavenegar_error(414))
    account.status_ids += len(asked)
    now = time.time()
    entries = [
        wire.kavenegar_status_entry(one, account.message_of(key, int(one)) if one.isdigit() else None, now)
        for one in asked
    ]
    return _json(wire.kavenegar_ok(entries))


async def kavenegar_account_info(request: web.Request) -> web.StreamResponse:
    account = request.app[STATE].accounts[KAVENEGAR.name]
    account.credit_calls += 1
    key = request.match_info["key"]
    refused = await _guarded(request, KAVENEGAR, key, "credit")
    return refused if refused is not None else _json(wire.kavenegar_account(account.balances[key], time.time()))


def add_routes(app: web.Application) -> None:
    router = app.router
    # SMS.IR serves its paths with or without a trailing slash; its Python SDK always adds one.
    for slash in ("", "/"):
        router.add_post("/smsir/v1/send/verify" + slash, smsir_verify)
        router.add_get("/smsir/v1/send/{message_id}" + slash, smsir_report)
        router.add_get("/smsir/v1/credit" + slash, smsir_credit)
    for path, handler in (
        ("/kavenegar/v1/{key}/verify/lookup.json", kavenegar_lookup),
        ("/kavenegar/v1/{key}/sms/status.json", kavenegar_status),
        ("/kavenegar/v1/{key}/account/info.json", kavenegar_account_info),
    ):
        router.add_get(path, handler)
        router.add_post(path, handler)
