"""The simulator's delivery reports and credit: the vendors' status and credit endpoints and the rules behind them."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from providers.base import Message
from providers.tests.harness import KAVENEGAR_KEY, MESSAGES, SMSIR_KEY, Harness, simulate


async def send(sim: Harness, kind: str, phone: str = "+989121234567") -> str:
    message = Message(phone=phone, template_code=MESSAGES[kind].template_code, params=MESSAGES[kind].params)
    result = await sim.adapter(kind).send(sim.session, message)
    assert result.message_id, result
    return result.message_id


async def get(sim: Harness, path: str, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    async with sim.session.get(sim.url + path, headers=headers) as response:
        return response.status, await response.json(content_type=None)


async def smsir_report(sim: Harness, message_id: str, key: str = SMSIR_KEY) -> tuple[int, Any]:
    return await get(sim, f"/smsir/v1/send/{message_id}", {"x-api-key": key})


async def kavenegar_status(sim: Harness, ids: str, key: str = KAVENEGAR_KEY) -> tuple[int, Any]:
    return await get(sim, f"/kavenegar/v1/{key}/sms/status.json?messageid={ids}")


def test_smsir_report_is_at_the_operator_until_the_delay_then_delivered() -> None:
    async def scenario(sim: Harness) -> tuple[Any, Any]:
        await sim.control("POST", "/_sim/delivery", {"provider": "smsir", "delay_ms": 300})
        message_id = await send(sim, "smsir")
        _, before = await smsir_report(sim, message_id)
        await asyncio.sleep(0.4)
        _, after = await smsir_report(sim, message_id + "/")
        return before, after

    before, after = simulate(scenario)

    assert before["status"] == 1
    assert (before["data"]["deliveryState"], before["data"]["deliveryDateTime"]) == (3, None)
    assert before["data"]["mobile"] == 9121234567
    assert after["data"]["deliveryState"] == 1
    assert after["data"]["deliveryDateTime"] >= after["data"]["sendDateTime"]


def test_smsir_fails_to_deliver_to_a_prefix_it_is_told_to() -> None:
    async def scenario(sim: Harness) -> list[int]:
        await sim.control("POST", "/_sim/delivery", {"provider": "smsir", "prefix": "0935", "undelivered_share": 1})
        ids = [await send(sim, "smsir", phone) for phone in ("+989351111111", "+989121111111", "+989352222222")]
        return [(await smsir_report(sim, one))[1]["data"]["deliveryState"] for one in ids]

    assert simulate(scenario) == [2, 1, 2]


def test_kavenegar_leaves_exactly_the_share_undelivered_and_other_vendors_alone() -> None:
    async def scenario(sim: Harness) -> tuple[list[int], list[int]]:
        rule = {"provider": "kavenegar", "prefix": "+98912", "undelivered_share": 0.3}
        await sim.control("POST", "/_sim/delivery", rule)
        ids = [await send(sim, "kavenegar") for _ in range(10)]
        _, body = await kavenegar_status(sim, ",".join(ids))
        smsir_ids = [await send(sim, "smsir") for _ in range(4)]
        smsir = [(await smsir_report(sim, one))[1]["data"]["deliveryState"] for one in smsir_ids]
        return [entry["status"] for entry in body["entries"]], smsir

    kavenegar, smsir = simulate(scenario)

    assert sorted(kavenegar) == [10] * 7 + [11] * 3
    assert smsir == [1, 1, 1, 1]


@pytest.mark.parametrize(("fail_as", "smsir_state", "kavenegar_code"), [("failed", 6, 6), ("blocked", 7, 14)])
def test_a_rule_can_fail_messages_in_other_ways(fail_as: str, smsir_state: int, kavenegar_code: int) -> None:
    async def scenario(sim: Harness) -> tuple[int, int]:
        rule = {"provider": "all", "undelivered_share": 1, "fail_as": fail_as}
        await sim.control("POST", "/_sim/delivery", rule)
        smsir = (await smsir_report(sim, await send(sim, "smsir")))[1]["data"]["deliveryState"]
        entries = (await kavenegar_status(sim, await send(sim, "kavenegar")))[1]["entries"]
        return smsir, entries[0]["status"]

    assert simulate(scenario) == (smsir_state, kavenegar_code)


def test_kavenegar_status_answers_each_id_with_its_documented_shape() -> None:
    async def scenario(sim: Harness) -> Any:
        await sim.control("POST", "/_sim/delivery", {"provider": "kavenegar", "prefix": "0935", "delay_ms": 60_000})
        delivered = await send(sim, "kavenegar")
        queued = await send(sim, "kavenegar", "+989351234567")
        async with sim.session.post(
            f"{sim.url}/kavenegar/v1/{KAVENEGAR_KEY}/sms/status.json", data={"messageid": f"{delivered},{queued},999"}
        ) as response:
            return await response.json()

    body = simulate(scenario)

    assert body["return"] == {"status": 200, "message": "تایید شد"}
    assert [(entry["status"], entry["statustext"]) for entry in body["entries"]] == [
        (10, "رسیده به گیرنده"),
        (4, "ارسال شده به مخابرات"),
        (100, "شناسه پیامک نامعتبر است"),
    ]
    assert [entry["messageid"] for entry in body["entries"]][2] == 999


def test_a_message_is_only_visible_to_the_key_that_sent_it() -> None:
    async def scenario(sim: Harness) -> tuple[Any, Any]:
        await sim.control("POST", "/_sim/accounts", {"provider": "all", "key": "second-key"})
        smsir_id = await send(sim, "smsir")
        kavenegar_id = await send(sim, "kavenegar")
        return await smsir_report(sim, smsir_id, "second-key"), await kavenegar_status(sim, kavenegar_id, "second-key")

    (smsir_status, smsir), (_, kavenegar) = simulate(scenario)

    assert (smsir_status, smsir["status"]) == (400, 111)
    assert kavenegar["entries"][0]["status"] == 100


def test_status_calls_need_a_valid_key() -> None:
    async def scenario(sim: Harness) -> tuple[Any, Any]:
        message_id = await send(sim, "smsir")
        return await smsir_report(sim, message_id, "wrong"), await kavenegar_status(sim, "1", "wrong")

    (smsir_status, smsir), (kavenegar_status_code, kavenegar) = simulate(scenario)

    assert (smsir_status, smsir["status"]) == (401, 10)
    assert (kavenegar_status_code, kavenegar["return"]["status"]) == (403, 403)


@pytest.mark.parametrize(("ids", "code"), [("", 400), (",".join(str(n) for n in range(1, 502)), 414)])
def test_kavenegar_status_refuses_no_ids_and_more_than_500(ids: str, code: int) -> None:
    status, body = simulate(lambda sim: kavenegar_status(sim, ids))

    assert (status, body["return"]["status"]) == (code, code)


def test_status_calls_and_ids_are_counted_per_provider() -> None:
    async def scenario(sim: Harness) -> Any:
        ids = [await send(sim, "kavenegar") for _ in range(3)]
        await kavenegar_status(sim, ",".join(ids))
        await kavenegar_status(sim, ids[0])
        await smsir_report(sim, await send(sim, "smsir"))
        await get(sim, "/smsir/v1/credit", {"x-api-key": SMSIR_KEY})
        return (await sim.control("GET", "/_sim/stats"))["providers"]

    providers = simulate(scenario)

    assert {name: (p["status_calls"], p["status_ids"], p["credit_calls"]) for name, p in providers.items()} == {
        "kavenegar": (2, 4, 0),
        "smsir": (1, 1, 1),
    }


@pytest.mark.parametrize(("mode", "status"), [("http500", 500), ("garbage", 200)])
def test_status_endpoints_have_their_own_faults(mode: str, status: int) -> None:
    async def scenario(sim: Harness) -> tuple[int, int, int]:
        await sim.fault("all", mode, endpoint="status", fail_first=1)
        smsir_id, kavenegar_id = await send(sim, "smsir"), await send(sim, "kavenegar")
        async with sim.session.get(f"{sim.url}/smsir/v1/send/{smsir_id}", headers={"x-api-key": SMSIR_KEY}) as one:
            smsir = one.status
        async with sim.session.get(
            f"{sim.url}/kavenegar/v1/{KAVENEGAR_KEY}/sms/status.json?messageid={kavenegar_id}"
        ) as other:
            kavenegar = other.status
        _, again = await kavenegar_status(sim, kavenegar_id)
        return smsir, kavenegar, again["entries"][0]["status"]

    assert simulate(scenario) == (status, status, 10)


def test_a_slow_status_endpoint_does_not_slow_sending() -> None:
    async def scenario(sim: Harness) -> tuple[bool, bool]:
        await sim.fault("kavenegar", "timeout", endpoint="status")
        message_id = await send(sim, "kavenegar")
        poll = asyncio.ensure_future(kavenegar_status(sim, message_id))
        sent = await send(sim, "kavenegar")
        await asyncio.sleep(0.1)
        done = poll.done()
        poll.cancel()
        return bool(sent), done

    assert simulate(scenario) == (True, False)


def test_each_send_spends_credit_and_the_credit_endpoints_report_it() -> None:
    async def scenario(sim: Harness) -> tuple[Any, Any]:
        await sim.control("POST", "/_sim/accounts", {"provider": "smsir", "key": SMSIR_KEY, "balance": 10})
        await sim.control("POST", "/_sim/accounts", {"provider": "kavenegar", "key": KAVENEGAR_KEY, "balance": 1000})
        await send(sim, "smsir")
        await send(sim, "kavenegar")
        return (
            await get(sim, "/smsir/v1/credit/", {"x-api-key": SMSIR_KEY}),
            await get(sim, f"/kavenegar/v1/{KAVENEGAR_KEY}/account/info.json"),
        )

    (smsir_status, smsir), (kavenegar_status_code, kavenegar) = simulate(scenario)

    assert (smsir_status, smsir) == (200, {"status": 1, "message": "موفق", "data": 9})
    assert kavenegar_status_code == 200
    assert kavenegar["entries"]["remaincredit"] == 1000 - 120
    assert kavenegar["entries"]["type"] == "master"


@pytest.mark.parametrize(("kind", "code"), [("smsir", "102"), ("kavenegar", "418")])
def test_a_key_without_credit_gets_the_vendors_credit_error(kind: str, code: str) -> None:
    async def scenario(sim: Harness) -> list[str]:
        key, one_message = (SMSIR_KEY, 1) if kind == "smsir" else (KAVENEGAR_KEY, 120)
        await sim.control("POST", "/_sim/accounts", {"provider": kind, "key": key, "balance": one_message})
        return [(await sim.adapter(kind).send(sim.session, MESSAGES[kind])).error_code for _ in range(2)]

    assert simulate(scenario) == ["", code]


def test_credit_endpoints_need_a_valid_key_and_have_their_own_faults() -> None:
    async def scenario(sim: Harness) -> list[int]:
        await sim.fault("smsir", "http500", endpoint="credit")
        return [
            (await get(sim, "/smsir/v1/credit", {"x-api-key": "wrong"}))[0],
            (await get(sim, "/kavenegar/v1/wrong/account/info.json"))[0],
            (await sim.session.get(sim.url + "/smsir/v1/credit", headers={"x-api-key": SMSIR_KEY})).status,
        ]

    assert simulate(scenario) == [401, 403, 500]


def test_reset_restores_keys_credit_templates_and_rules() -> None:
    async def scenario(sim: Harness) -> tuple[Any, Any, Any]:
        await sim.control("POST", "/_sim/accounts", {"provider": "smsir", "key": SMSIR_KEY, "remove": True})
        await sim.control("POST", "/_sim/templates", {"provider": "kavenegar", "template": "verify", "remove": True})
        await sim.control("POST", "/_sim/delivery", {"provider": "all", "delay_ms": 5})
        await sim.control("POST", "/_sim/reset")
        return (
            await sim.control("GET", "/_sim/accounts"),
            await sim.control("GET", "/_sim/templates"),
            await sim.control("GET", "/_sim/delivery"),
        )

    accounts, templates, rules = simulate(scenario)

    assert SMSIR_KEY in accounts["smsir"]
    assert "verify" in templates["kavenegar"]
    assert rules["smsir"] == {"": {"delay_ms": 0, "undelivered_share": 0.0, "fail_as": "undelivered"}}


@pytest.mark.parametrize(
    "options",
    [
        {"provider": "smsir", "prefix": "09x"},
        {"provider": "smsir", "delay_ms": -1},
        {"provider": "smsir", "undelivered_share": 1.5},
        {"provider": "smsir", "fail_as": "delivered"},
        {"provider": "magfa"},
    ],
)
def test_invalid_delivery_rules_are_refused(options: dict[str, Any]) -> None:
    async def scenario(sim: Harness) -> int:
        async with sim.session.post(sim.url + "/_sim/delivery", json=options) as response:
            return response.status

    assert simulate(scenario) == 400
