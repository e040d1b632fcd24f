"""The JSON control API under ``/_sim/``: what tests read (records, counters) and set (faults, accounts, rules).

Every setter takes ``"provider": "smsir" | "kavenegar" | "all"`` and answers with the new settings; a bad
request gets 400 with a plain-text reason. ``POST /_sim/reset`` returns everything to how it started.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter, defaultdict
from dataclasses import asdict, replace
from typing import Any

from aiohttp import web

from providers.simulator.sandbox import CALL, CHANNELS, DEFAULT_BALANCE, SMS, DeliveryRule, Fate
from providers.simulator.state import ENDPOINTS, MODES, STATE, Fault, SimulatorState
from providers.simulator.wire import VENDORS, dumps

# A number prefix in national form ("0935"), or in international form, which is rewritten to national.
_PREFIX = re.compile(r"(?:\+98|0098|0)?(\d*)")


async def _options(request: web.Request) -> dict[str, Any]:
    try:
        options = await request.json()
    except ValueError:
        raise web.HTTPBadRequest(text="body must be JSON") from None
    return options if isinstance(options, dict) else {}


def _targets(options: dict[str, Any]) -> list[str]:
    provider = options.get("provider")
    if provider == "all":
        return list(VENDORS)
    if provider in VENDORS:
        return [provider]
    raise web.HTTPBadRequest(text="provider must be smsir, kavenegar or all")


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _remove(options: dict[str, Any]) -> bool:
    remove = options.get("remove", False)
    if not isinstance(remove, bool):
        raise web.HTTPBadRequest(text="remove must be true or false")
    return remove


async def received_list(request: web.Request) -> web.Response:
    state = request.app[STATE]
    provider = request.query.get("provider")
    if provider is not None and provider not in VENDORS:
        raise web.HTTPBadRequest(text=f"unknown provider {provider!r}")
    records = (
        state.records[provider]
        if provider
        else sorted(itertools.chain.from_iterable(state.records.values()), key=lambda record: record["received_at"])
    )
    mobile = request.query.get("mobile")
    if mobile is not None:
        records = [record for record in records if record["mobile"] == mobile]
    return web.json_response({"requests": records}, dumps=dumps)


async def stats(request: web.Request) -> web.Response:
    state = request.app[STATE]
    per_mobile: defaultdict[str, Counter[str]] = defaultdict(Counter)
    providers: dict[str, dict[str, Any]] = {}
    for name, records in state.records.items():
        statuses: Counter[str] = Counter()
        for record in records:
            per_mobile[record["mobile"]][name] += 1
            statuses[str(record["status_returned"])] += 1
        account = state.accounts[name]
        providers[name] = {
            "requests": len(records),
            "sent": sum(1 for record in records if record["message_id"] is not None),
            "calls": sum(1 for record in records if record["channel"] == CALL and record["message_id"] is not None),
            "statuses": dict(statuses),
            "status_calls": account.status_calls,
            "status_ids": account.status_ids,
            "credit_calls": account.credit_calls,
        }
    return web.json_response(
        {
            "total": sum(len(records) for records in state.records.values()),
            "providers": providers,
            "mobiles": {mobile: dict(counts) for mobile, counts in per_mobile.items()},
            "faults": {name: asdict(state.faults[name, "send"]) for name in VENDORS},
            "endpoint_faults": _endpoint_faults(state),
        }
    )


def _endpoint_faults(state: SimulatorState) -> dict[str, dict[str, Any]]:
    return {name: {endpoint: asdict(state.faults[name, endpoint]) for endpoint in ENDPOINTS} for name in VENDORS}


async def reset(request: web.Request) -> web.Response:
    request.app[STATE].reset()
    return web.json_response({"ok": True})


async def set_fault(request: web.Request) -> web.Response:
    state = request.app[STATE]
    options = await _options(request)
    targets = _targets(options)
    endpoint = options.get("endpoint", "send")
    if endpoint not in ENDPOINTS:
        raise web.HTTPBadRequest(text=f"endpoint must be one of {list(ENDPOINTS)}")
    fault = _parse_fault(options)
    for name in targets:
        state.faults[name, endpoint] = replace(fault)  # each provider counts its own fail_first
    send_faults = {name: asdict(state.faults[name, "send"]) for name in VENDORS}
    return web.json_response({"faults": send_faults, "endpoint_faults": _endpoint_faults(state)})


def _parse_fault(options: dict[str, Any]) -> Fault:
    mode = options.get("mode")
    latency_ms = options.get("latency_ms") or 0
    fail_first = options.get("fail_first")
    code = options.get("code")
    if mode not in MODES:
        raise web.HTTPBadRequest(text=f"mode must be one of {sorted(MODES)}")
    if not _is_count(latency_ms):
        raise web.HTTPBadRequest(text="latency_ms must be a non-negative integer")
    if fail_first is not None and not _is_count(fail_first):
        raise web.HTTPBadRequest(text="fail_first must be a non-negative integer or null")
    if mode == "error" and not isinstance(code, int):
        raise web.HTTPBadRequest(text="mode error needs an integer code")
    if fail_first == 0:
        mode, latency_ms, fail_first = "ok", 0, None
    return Fault(mode, latency_ms, fail_first, code if mode == "error" else None)


async def accounts(request: web.Request) -> web.Response:
    """POST ``{"provider", "key", "balance": N, "remove": false}`` adds a key or sets its credit."""
    state = request.app[STATE]
    if request.method == "POST":
        options = await _options(request)
        targets = _targets(options)
        key = options.get("key")
        balance = options.get("balance", DEFAULT_BALANCE)
        if not isinstance(key, str) or not key:
            raise web.HTTPBadRequest(text="key must be a non-empty string")
        if not _is_count(balance):
            raise web.HTTPBadRequest(text="balance must be a non-negative integer")
        remove = _remove(options)
        for name in targets:
            balances = state.accounts[name].balances
            if remove:
                balances.pop(key, None)
            else:
                balances[key] = balance
    return web.json_response({name: state.accounts[name].balances for name in VENDORS})


async def templates(request: web.Request) -> web.Response:
    """POST ``{"provider", "template": "100000" | "verify", "remove": false}`` registers or drops a template."""
    state = request.app[STATE]
    if request.method == "POST":
        options = await _options(request)
        targets = _targets(options)
        template = options.get("template")
        if isinstance(template, bool) or not isinstance(template, str | int) or not str(template):
            raise web.HTTPBadRequest(text="template must be a non-empty string or an integer")
        remove = _remove(options)
        for name in targets:
            known = state.accounts[name].templates
            if remove:
                known.discard(str(template))
            else:
                known.add(str(template))
    return web.json_response({name: sorted(state.accounts[name].templates) for name in VENDORS})


async def delivery(request: web.Request) -> web.Response:
    """POST ``{"provider", "prefix": "0935", "delay_ms", "undelivered_share", "fail_as", "channel", "callable"}``
    sets a delivery rule: for texts, or with ``"channel": "call"`` for calls (``"callable": false`` refuses them).

    Answers with each vendor's text rules, plus under ``"call"`` the call rules of the vendors that make calls.
    """
    state = request.app[STATE]
    if request.method == "POST":
        options = await _options(request)
        targets = _targets(options)
        channel = options.get("channel", SMS)
        if channel not in CHANNELS:
            raise web.HTTPBadRequest(text=f"channel must be one of {list(CHANNELS)}")
        prefix, rule = _parse_rule(options, channel)
        carriers = [name for name in targets if channel in VENDORS[name].channels]
        if not carriers:
            raise web.HTTPBadRequest(text=f"{options['provider']} does not carry {channel} messages")
        for name in carriers:
            state.accounts[name].set_rule(prefix, rule, channel=channel)
    call_rules = {name: state.accounts[name].rules(CALL) for name, vendor in VENDORS.items() if CALL in vendor.channels}
    return web.json_response({**{name: state.accounts[name].rules(SMS) for name in VENDORS}, CALL: call_rules})


def _parse_rule(options: dict[str, Any], channel: str) -> tuple[str, DeliveryRule]:
    prefix = options.get("prefix", "")
    delay_ms = options.get("delay_ms", 0)
    share = options.get("undelivered_share", 0)
    fail_as = options.get("fail_as", Fate.UNDELIVERED.value)
    takes_calls = options.get("callable", True)
    match = _PREFIX.fullmatch(prefix) if isinstance(prefix, str) else None
    if match is None:
        raise web.HTTPBadRequest(text="prefix must be digits, like 0935 or +98935")
    if not _is_count(delay_ms):
        raise web.HTTPBadRequest(text="delay_ms must be a non-negative integer")
    if not isinstance(share, int | float) or isinstance(share, bool) or not 0 <= share <= 1:
        raise web.HTTPBadRequest(text="undelivered_share must be a number from 0 to 1")
    fates = {fate.value: fate for fate in Fate if fate is not Fate.DELIVERED}
    if fail_as not in fates:
        raise web.HTTPBadRequest(text=f"fail_as must be one of {sorted(fates)}")
    if "callable" in options and channel != CALL:
        raise web.HTTPBadRequest(text='callable belongs to call rules: add "channel": "call"')
    if not isinstance(takes_calls, bool):
        raise web.HTTPBadRequest(text="callable must be true or false")
    national = "0" + match[1] if prefix else ""
    rule = DeliveryRule(delay_ms=delay_ms, undelivered_share=float(share), fail_as=fates[fail_as], callable=takes_calls)
    return national, rule


def add_routes(app: web.Application) -> None:
    router = app.router
    router.add_get("/_sim/received", received_list)
    router.add_get("/_sim/stats", stats)
    router.add_post("/_sim/reset", reset)
    router.add_post("/_sim/fault", set_fault)
    for path, handler in (("/_sim/accounts", accounts), ("/_sim/templates", templates), ("/_sim/delivery", delivery)):
        router.add_get(path, handler)
        router.add_post(path, handler)
