"""Kavenegar's lookup with ``type=call`` in the simulator: what a call can read out, call rules, refused numbers."""

from __future__ import annotations

from typing import Any

import pytest

from providers.base import CALL, Message, Outcome, SendResult
from providers.tests.harness import KAVENEGAR_KEY, MESSAGES, Harness, simulate

FORM = {"receptor": "09121234567", "template": "verify", "token": "483920"}
NOT_CALLABLE = {"return": {"status": 428, "message": "ارسال کد از طریق تماس تلفنی امکان پذیر نیست"}, "entries": None}


def call(phone: str = "+989121234567", token: str = "483920") -> Message:
    return Message(phone=phone, template_code="verify", params={"token": token}, channel=CALL)


def text(phone: str = "+989121234567") -> Message:
    return Message(phone=phone, template_code="verify", params=MESSAGES["kavenegar"].params)


async def lookup(sim: Harness, form: dict[str, str]) -> tuple[int, Any]:
    url = f"{sim.url}/kavenegar/v1/{KAVENEGAR_KEY}/verify/lookup.json"
    async with sim.session.post(url, data=form) as response:
        return response.status, await response.json()


async def status_of(sim: Harness, message_id: str) -> int:
    url = f"{sim.url}/kavenegar/v1/{KAVENEGAR_KEY}/sms/status.json"
    async with sim.session.post(url, data={"messageid": message_id}) as response:
        return int((await response.json())["entries"][0]["status"])


async def rule(sim: Harness, **options: Any) -> Any:
    return await sim.control("POST", "/_sim/delivery", {"provider": "kavenegar", **options})


def test_a_call_with_a_numeric_token_is_accepted_recorded_as_a_call_and_reported_delivered() -> None:
    async def scenario(sim: Harness) -> tuple[SendResult, dict[str, Any], int]:
        result = await sim.adapter("kavenegar").send(sim.session, call())
        [record] = await sim.received("kavenegar")
        return result, record, await status_of(sim, result.message_id)

    result, record, status = simulate(scenario)

    assert (result.outcome, result.message_id, result.channel_refused) == (Outcome.SENT, "1", False)
    assert record["body"] == {**FORM, "type": "call"}
    assert (record["channel"], record["params"], record["status_returned"]) == ("call", {"token": "483920"}, 200)
    assert status == 10


def test_every_record_names_its_channel_and_stats_count_the_calls_accepted() -> None:
    async def scenario(sim: Harness) -> tuple[list[str], Any]:
        kavenegar = sim.adapter("kavenegar")
        await kavenegar.send(sim.session, call())
        await kavenegar.send(sim.session, call(token="12ab"))  # refused: not counted
        await kavenegar.send(sim.session, text())
        await sim.adapter("smsir").send(sim.session, MESSAGES["smsir"])
        received = (await sim.control("GET", "/_sim/received"))["requests"]
        return [record["channel"] for record in received], await sim.control("GET", "/_sim/stats")

    channels, stats = simulate(scenario)

    assert channels == ["call", "call", "sms", "sms"]
    assert (stats["providers"]["kavenegar"]["sent"], stats["providers"]["kavenegar"]["calls"]) == (2, 1)
    assert stats["providers"]["smsir"]["calls"] == 0


def test_a_call_is_charged_like_a_text() -> None:
    async def scenario(sim: Harness) -> list[int]:
        await sim.control("POST", "/_sim/accounts", {"provider": "kavenegar", "key": KAVENEGAR_KEY, "balance": 1000})
        balances = []
        for message in (call(), text()):
            await sim.adapter("kavenegar").send(sim.session, message)
            balances.append((await sim.control("GET", "/_sim/accounts"))["kavenegar"][KAVENEGAR_KEY])
        return balances

    assert simulate(scenario) == [880, 760]


@pytest.mark.parametrize(
    "form",
    [
        {**FORM, "token": "48a920"},
        {**FORM, "token": "12345678901"},  # more than ten digits
        {**FORM, "token": "۴۸۳۹۲۰"},  # Persian digits
        {**FORM, "token2": "5"},
        {**FORM, "token3": "5"},
    ],
    ids=["letters", "eleven_digits", "persian_digits", "token2", "token3"],
)
def test_a_call_that_cannot_read_the_code_out_gets_428(form: dict[str, str]) -> None:
    async def scenario(sim: Harness) -> tuple[tuple[int, Any], tuple[int, Any]]:
        return await lookup(sim, {**form, "type": "call"}), await lookup(sim, form)

    refused, as_text = simulate(scenario)

    assert refused == (428, NOT_CALLABLE)
    assert as_text[0] == 200


@pytest.mark.parametrize("kind", ["voice", "SMS", ""])
def test_a_type_other_than_sms_or_call_is_a_malformed_request(kind: str) -> None:
    async def scenario(sim: Harness) -> tuple[int, Any]:
        return await lookup(sim, {**FORM, "type": kind})

    status, body = simulate(scenario)

    assert (status, body["return"]["status"]) == (400, 400)


def test_type_sms_is_a_text() -> None:
    async def scenario(sim: Harness) -> tuple[int, str]:
        status, _ = await lookup(sim, {**FORM, "type": "sms"})
        [record] = await sim.received("kavenegar")
        return status, record["channel"]

    assert simulate(scenario) == (200, "sms")


def test_calls_to_a_prefix_marked_not_callable_get_428_while_texts_still_go() -> None:
    async def scenario(sim: Harness) -> list[SendResult]:
        await rule(sim, prefix="+98935", channel="call", callable=False)
        await rule(sim, prefix="093512", channel="call")  # a longer prefix that takes calls again
        adapter = sim.adapter("kavenegar")
        messages = [call("+989351111111"), call("+989121111111"), text("+989351111111"), call("+989351211111")]
        return [await adapter.send(sim.session, message) for message in messages]

    refused, elsewhere, texted, longer = simulate(scenario)

    assert (refused.outcome, refused.error_code, refused.http_status) == (Outcome.TRY_NEXT, "428", 428)
    assert (refused.channel_refused, refused.problem) == (True, None)
    assert [result.outcome for result in (elsewhere, texted, longer)] == [Outcome.SENT] * 3


def test_call_rules_decide_the_fate_of_calls_and_text_rules_that_of_texts() -> None:
    async def scenario(sim: Harness) -> list[int]:
        await rule(sim, prefix="0912", channel="call", undelivered_share=1)
        await rule(sim, prefix="0935", undelivered_share=1, fail_as="blocked")
        adapter = sim.adapter("kavenegar")
        messages = [call("+989121111111"), text("+989121111111"), call("+989351111111"), text("+989351111111")]
        ids = [(await adapter.send(sim.session, message)).message_id for message in messages]
        return [await status_of(sim, one) for one in ids]

    assert simulate(scenario) == [11, 10, 10, 14]


def test_call_rules_are_shown_apart_and_set_only_for_vendors_that_make_calls() -> None:
    async def scenario(sim: Harness) -> Any:
        await sim.control("POST", "/_sim/delivery", {"provider": "all", "prefix": "0935", "channel": "call"})
        return await rule(sim, prefix="0912", channel="call", callable=False, delay_ms=5)

    rules = simulate(scenario)

    default = {"delay_ms": 0, "undelivered_share": 0.0, "fail_as": "undelivered"}
    assert rules["smsir"] == rules["kavenegar"] == {"": default}
    assert rules["call"] == {
        "kavenegar": {
            "": {**default, "callable": True},
            "0912": {**default, "delay_ms": 5, "callable": False},
            "0935": {**default, "callable": True},
        }
    }


def test_reset_makes_every_number_callable_again() -> None:
    async def scenario(sim: Harness) -> tuple[str, Any]:
        await rule(sim, channel="call", callable=False)
        await sim.control("POST", "/_sim/reset")
        result = await sim.adapter("kavenegar").send(sim.session, call())
        return result.outcome.value, (await sim.control("GET", "/_sim/delivery"))["call"]

    outcome, call_rules = simulate(scenario)

    assert outcome == "sent"
    assert call_rules == {
        "kavenegar": {"": {"delay_ms": 0, "undelivered_share": 0.0, "fail_as": "undelivered", "callable": True}}
    }


@pytest.mark.parametrize(
    ("options", "reason"),
    [
        ({"provider": "kavenegar", "channel": "voice"}, "channel must be one of ['sms', 'call']"),
        ({"provider": "kavenegar", "channel": None}, "channel must be one of ['sms', 'call']"),
        ({"provider": "kavenegar", "channel": "call", "callable": "no"}, "callable must be true or false"),
        ({"provider": "kavenegar", "channel": "call", "callable": 0}, "callable must be true or false"),
        ({"provider": "kavenegar", "callable": False}, 'callable belongs to call rules: add "channel": "call"'),
        (
            {"provider": "kavenegar", "channel": "sms", "callable": True},
            'callable belongs to call rules: add "channel": "call"',
        ),
        ({"provider": "smsir", "channel": "call"}, "smsir does not carry call messages"),
        ({"provider": "kavenegar", "channel": "call", "prefix": "09x"}, "prefix must be digits, like 0935 or +98935"),
    ],
)
def test_invalid_call_rules_are_refused_with_the_reason(options: dict[str, Any], reason: str) -> None:
    async def scenario(sim: Harness) -> tuple[int, str, Any]:
        async with sim.session.post(sim.url + "/_sim/delivery", json=options) as response:
            answer = response.status, await response.text()
        return *answer, await sim.control("GET", "/_sim/delivery")

    status, text_, rules = simulate(scenario)

    assert (status, text_) == (400, reason)
    assert rules["call"] == {"kavenegar": {"": {**rules["kavenegar"][""], "callable": True}}}
