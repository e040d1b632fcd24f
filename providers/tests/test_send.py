"""``ProviderAdapter.send`` against the real simulator on 127.0.0.1, one fault mode at a time."""

from __future__ import annotations

import socket
from typing import Any

import pytest
from aiohttp import web

from providers.base import EngineConfig, Outcome, SendResult
from providers.kavenegar import KavenegarAdapter
from providers.tests.harness import KAVENEGAR_KEY, MESSAGES, PHONE, SMSIR_KEY, Harness, simulate

KINDS = ["smsir", "kavenegar"]


def send_with_fault(kind: str, mode: str | None = None, read_timeout: float = 2.0, **options: Any) -> SendResult:
    async def scenario(sim: Harness) -> SendResult:
        if mode is not None:
            await sim.fault(kind, mode, **options)
        return await sim.adapter(kind, read_timeout=read_timeout).send(sim.session, MESSAGES[kind])

    return simulate(scenario)


@pytest.mark.parametrize("kind", KINDS)
def test_ok_returns_sent_with_the_simulators_message_id(kind: str) -> None:
    result = send_with_fault(kind)

    assert result == SendResult(Outcome.SENT, message_id="1", http_status=200, latency_ms=result.latency_ms)


@pytest.mark.parametrize("kind", KINDS)
def test_http500_with_a_plain_text_body_tries_the_next_provider(kind: str) -> None:
    result = send_with_fault(kind, "http500")

    assert (result.outcome, result.error_code, result.http_status) == (Outcome.TRY_NEXT, "http_500", 500)


@pytest.mark.parametrize("kind", KINDS)
def test_read_timeout_is_flagged_as_a_possible_duplicate(kind: str) -> None:
    result = send_with_fault(kind, "timeout", read_timeout=0.3)

    assert (result.outcome, result.error_code, result.timed_out) == (Outcome.TRY_NEXT, "timeout", True)
    assert 250 <= result.latency_ms < 2000


@pytest.mark.parametrize("kind", KINDS)
def test_connection_reset_tries_the_next_provider(kind: str) -> None:
    result = send_with_fault(kind, "reset")

    assert (result.outcome, result.error_code, result.timed_out) == (Outcome.TRY_NEXT, "connection_reset", False)


@pytest.mark.parametrize("kind", KINDS)
def test_garbage_on_200_is_a_bad_response(kind: str) -> None:
    result = send_with_fault(kind, "garbage")

    assert (result.outcome, result.error_code, result.http_status) == (Outcome.TRY_NEXT, "bad_response", 200)


@pytest.mark.parametrize(
    ("kind", "mode", "outcome", "code", "status"),
    [
        ("smsir", "credit", Outcome.TRY_NEXT, "102", 400),
        ("smsir", "rate_limit", Outcome.TRY_NEXT, "20", 429),
        ("smsir", "bad_key", Outcome.TRY_NEXT, "10", 401),
        ("smsir", "invalid_number", Outcome.RECIPIENT_REJECTED, "104", 400),
        ("smsir", "template_not_found", Outcome.TRY_NEXT, "113", 400),
        ("kavenegar", "credit", Outcome.TRY_NEXT, "418", 418),
        ("kavenegar", "rate_limit", Outcome.TRY_NEXT, "451", 451),
        ("kavenegar", "bad_key", Outcome.TRY_NEXT, "403", 403),
        ("kavenegar", "invalid_number", Outcome.RECIPIENT_REJECTED, "411", 411),
        ("kavenegar", "template_not_found", Outcome.TRY_NEXT, "424", 424),
    ],
)
def test_named_vendor_errors_are_classified(kind: str, mode: str, outcome: Outcome, code: str, status: int) -> None:
    result = send_with_fault(kind, mode)

    assert (result.outcome, result.error_code, result.http_status) == (outcome, code, status)
    assert result.error_message


@pytest.mark.parametrize(
    ("kind", "code", "status"),
    [("smsir", 0, 500), ("smsir", 11, 401), ("smsir", 101, 400), ("kavenegar", 409, 409), ("kavenegar", 501, 501)],
)
def test_error_mode_answers_with_the_vendor_envelope_and_status(kind: str, code: int, status: int) -> None:
    result = send_with_fault(kind, "error", code=code)

    assert (result.outcome, result.error_code, result.http_status) == (Outcome.TRY_NEXT, str(code), status)


@pytest.mark.parametrize("kind", KINDS)
def test_fail_first_applies_the_fault_to_the_next_n_requests_only(kind: str) -> None:
    async def scenario(sim: Harness) -> list[SendResult]:
        await sim.fault(kind, "http500", fail_first=2)
        adapter = sim.adapter(kind)
        return [await adapter.send(sim.session, MESSAGES[kind]) for _ in range(3)]

    results = simulate(scenario)

    assert [result.error_code for result in results] == ["http_500", "http_500", ""]
    assert results[2].outcome is Outcome.SENT


@pytest.mark.parametrize("kind", KINDS)
def test_latency_delays_the_answer_and_is_measured(kind: str) -> None:
    result = send_with_fault(kind, "latency", latency_ms=200)

    assert result.outcome is Outcome.SENT
    assert 190 <= result.latency_ms < 2000


def test_latency_longer_than_the_read_timeout_is_a_timeout() -> None:
    result = send_with_fault("smsir", "latency", latency_ms=600, read_timeout=0.2)

    assert (result.error_code, result.timed_out) == ("timeout", True)


@pytest.mark.parametrize("kind", KINDS)
def test_closed_port_is_a_connect_error(kind: str) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    async def scenario(sim: Harness) -> SendResult:
        adapter = sim.adapter(kind)
        adapter.api_url = f"http://127.0.0.1:{port}/{kind}"
        return await adapter.send(sim.session, MESSAGES[kind])

    result = simulate(scenario)

    assert (result.outcome, result.error_code, result.timed_out) == (Outcome.TRY_NEXT, "connect_error", False)
    assert result.http_status is None


def test_simulator_received_exactly_the_documented_smsir_request() -> None:
    async def scenario(sim: Harness) -> list[dict[str, Any]]:
        await sim.adapter("smsir").send(sim.session, MESSAGES["smsir"])
        return await sim.received("smsir")

    [record] = simulate(scenario)

    assert record["path"] == "/smsir/v1/send/verify"
    assert record["headers"]["x-api-key"] == SMSIR_KEY
    assert record["headers"]["Content-Type"] == "application/json"
    assert record["headers"]["Accept"] == "application/json"
    assert record["body"] == {
        "mobile": "09121234567",
        "templateId": 100200,
        "parameters": [{"name": "CODE", "value": "483920"}],
    }
    assert (record["mobile"], record["template"], record["params"]) == (PHONE, "100200", {"CODE": "483920"})
    assert (record["status_returned"], record["message_id"]) == (200, 1)


def test_simulator_received_exactly_the_documented_kavenegar_request() -> None:
    async def scenario(sim: Harness) -> list[dict[str, Any]]:
        await sim.adapter("kavenegar").send(sim.session, MESSAGES["kavenegar"])
        return await sim.received("kavenegar")

    [record] = simulate(scenario)

    assert record["path"] == f"/kavenegar/v1/{KAVENEGAR_KEY}/verify/lookup.json"
    assert record["headers"]["Content-Type"] == "application/x-www-form-urlencoded"
    assert record["body"] == {"receptor": "09121234567", "template": "verify", "token": "483920"}
    assert (record["mobile"], record["template"], record["params"]) == (PHONE, "verify", {"token": "483920"})


def test_no_send_result_ever_contains_the_kavenegar_key() -> None:
    modes: list[tuple[str, dict[str, Any]]] = [
        ("ok", {}),
        ("http500", {}),
        ("timeout", {}),
        ("reset", {}),
        ("garbage", {}),
        ("credit", {}),
        ("bad_key", {}),
        ("invalid_number", {}),
        ("error", {"code": 401}),
    ]

    async def scenario(sim: Harness) -> list[SendResult]:
        adapter = sim.adapter("kavenegar", read_timeout=0.2)
        results = []
        for mode, options in modes:
            await sim.fault("kavenegar", mode, **options)
            results.append(await adapter.send(sim.session, MESSAGES["kavenegar"]))
        adapter.api_url = "http://127.0.0.1:9/kavenegar"  # discard port: nothing listens, aiohttp names the URL
        results.append(await adapter.send(sim.session, MESSAGES["kavenegar"]))
        return results

    results = simulate(scenario)

    assert len({result.error_code for result in results}) == len(results)
    for result in results:
        assert KAVENEGAR_KEY not in repr(result)


def test_vendor_text_echoing_the_key_phone_or_code_is_redacted() -> None:
    # A vendor that quotes the request back must not put it into our attempt records.
    async def echo(request: web.Request) -> web.Response:
        token = str((await request.post())["token"])
        text = f"bad request {request.path} for 09121234567 with {token}"
        return web.json_response({"return": {"status": 400, "message": text}, "entries": None}, status=400)

    async def scenario(_sim: Harness) -> SendResult:
        app = web.Application()
        app.router.add_post("/{tail:.*}", echo)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        try:
            url = f"http://127.0.0.1:{runner.addresses[0][1]}"
            adapter = KavenegarAdapter(EngineConfig(url, KAVENEGAR_KEY, connect_timeout=1.0, read_timeout=1.0))
            return await adapter.send(_sim.session, MESSAGES["kavenegar"])
        finally:
            await runner.cleanup()

    result = simulate(scenario)

    assert result.error_code == "400"
    assert result.error_message == "bad request /v1/***/verify/lookup.json for 09*** with ***"
