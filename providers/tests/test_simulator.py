"""The simulator's own contract: control API, vendor checks, entry points, loopback only."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from providers.simulator import start_simulator
from providers.simulator.server import NotLoopback
from providers.tests.harness import KAVENEGAR_KEY, MESSAGES, PHONE, Harness, simulate

ROOT = Path(__file__).resolve().parents[2]


def test_stats_count_requests_per_provider_and_per_mobile() -> None:
    async def scenario(sim: Harness) -> Any:
        for kind in ("smsir", "smsir", "kavenegar"):
            await sim.adapter(kind).send(sim.session, MESSAGES[kind])
        return await sim.control("GET", "/_sim/stats")

    stats = simulate(scenario)

    assert stats["total"] == 3
    assert stats["providers"]["smsir"] == {
        "requests": 2,
        "sent": 2,
        "calls": 0,
        "statuses": {"200": 2},
        "status_calls": 0,
        "status_ids": 0,
        "credit_calls": 0,
    }
    assert stats["providers"]["kavenegar"]["requests"] == 1
    assert stats["mobiles"] == {PHONE: {"smsir": 2, "kavenegar": 1}}


def test_message_ids_increase_per_provider() -> None:
    async def scenario(sim: Harness) -> list[str]:
        return [
            (await sim.adapter(kind).send(sim.session, MESSAGES[kind])).message_id
            for kind in ("smsir", "kavenegar", "smsir", "smsir")
        ]

    assert simulate(scenario) == ["1", "1", "2", "3"]


def test_reset_clears_records_and_faults() -> None:
    async def scenario(sim: Harness) -> tuple[Any, str]:
        await sim.fault("all", "http500")
        await sim.adapter("smsir").send(sim.session, MESSAGES["smsir"])
        await sim.control("POST", "/_sim/reset")
        result = await sim.adapter("kavenegar").send(sim.session, MESSAGES["kavenegar"])
        return await sim.control("GET", "/_sim/received"), result.outcome.value

    received, outcome = simulate(scenario)

    assert outcome == "sent"
    assert [record["provider"] for record in received["requests"]] == ["kavenegar"]


def test_fault_for_all_providers_counts_fail_first_separately() -> None:
    async def scenario(sim: Harness) -> list[str]:
        await sim.fault("all", "credit", fail_first=1)
        return [
            (await sim.adapter(kind).send(sim.session, MESSAGES[kind])).error_code
            for kind in ("smsir", "kavenegar", "smsir", "kavenegar")
        ]

    assert simulate(scenario) == ["102", "418", "", ""]


def test_received_can_be_filtered_by_mobile() -> None:
    async def scenario(sim: Harness) -> Any:
        await sim.adapter("smsir").send(sim.session, MESSAGES["smsir"])
        return (
            await sim.control("GET", "/_sim/received?mobile=%2B989121234567"),
            await sim.control("GET", "/_sim/received?mobile=%2B989350000000"),
        )

    mine, other = simulate(scenario)

    assert len(mine["requests"]) == 1
    assert other["requests"] == []


@pytest.mark.parametrize(
    "options",
    [
        {"provider": "twilio", "mode": "ok"},
        {"provider": "smsir", "mode": "explode"},
        {"provider": "smsir", "mode": "error"},
        {"provider": "smsir", "mode": "latency", "latency_ms": -1},
        {"provider": "smsir", "mode": "http500", "fail_first": "2"},
    ],
)
def test_invalid_fault_requests_are_refused(options: dict[str, Any]) -> None:
    async def scenario(sim: Harness) -> int:
        async with sim.session.post(sim.url + "/_sim/fault", json=options) as response:
            return response.status

    assert simulate(scenario) == 400


def test_smsir_request_without_api_key_gets_401_code_10() -> None:
    async def scenario(sim: Harness) -> tuple[int, Any]:
        body = {"mobile": "09121234567", "templateId": 1, "parameters": []}
        async with sim.session.post(sim.url + "/smsir/v1/send/verify", json=body) as response:
            return response.status, await response.json()

    status, body = simulate(scenario)

    assert status == 401
    assert body["status"] == 10
    assert body["data"] is None


def test_malformed_receptor_gets_the_vendors_invalid_number_code() -> None:
    async def scenario(sim: Harness) -> tuple[int, Any]:
        form = {"receptor": "+989121234567", "template": "verify", "token": "1"}
        path = f"/kavenegar/v1/{KAVENEGAR_KEY}/verify/lookup.json"
        async with sim.session.post(sim.url + path, data=form) as response:
            return response.status, await response.json()

    assert simulate(scenario) == (
        411,
        {"return": {"status": 411, "message": "دریافت کننده نامعتبر است"}, "entries": None},
    )


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.10", "example.com", "::"])
def test_refuses_to_listen_on_anything_but_loopback(host: str) -> None:
    with pytest.raises(NotLoopback):
        asyncio.run(start_simulator(host, 0))


def test_module_entry_point_prints_the_listening_line_and_serves() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "providers.simulator", "--host", "127.0.0.1", "--port", "0"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("SIMULATOR_LISTENING http://127.0.0.1:")
        url = line.split()[1]
        with urllib.request.urlopen(url + "/_sim/stats", timeout=5) as response:
            assert response.status == 200
    finally:
        process.terminate()
        assert process.wait(10) == 0


def test_keys_and_templates_given_on_the_command_line_are_known() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "providers.simulator", "--port", "0", "--key", "smsir=cli-key", "--template", "smsir=7"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().split()[1]
        with urllib.request.urlopen(url + "/_sim/accounts", timeout=5) as response:
            accounts = json.load(response)
        with urllib.request.urlopen(url + "/_sim/templates", timeout=5) as response:
            templates = json.load(response)
    finally:
        process.terminate()
        process.wait(10)

    assert {"cli-key", "smsir-test-key", "demo-smsir-key"} <= set(accounts["smsir"])
    assert "cli-key" not in accounts["kavenegar"]
    assert {"7", "100000"} <= set(templates["smsir"])


def test_a_key_for_an_unknown_vendor_is_a_usage_error() -> None:
    finished = subprocess.run(
        [sys.executable, "-m", "providers.simulator", "--port", "0", "--key", "magfa=x"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )

    assert finished.returncode == 2
    assert "VENDOR=VALUE" in finished.stderr


def test_management_command_refuses_a_public_address() -> None:
    from django.core.management.base import CommandError

    from providers.management.commands.provider_simulator import Command

    with pytest.raises(CommandError):
        Command().handle(host="0.0.0.0", port=0)
