"""The simulator checks sends as the vendors do: keys, templates, numbers, parameters, methods and body forms."""

from __future__ import annotations

from typing import Any

import pytest

from providers.tests.harness import KAVENEGAR_KEY, MESSAGES, SMSIR_KEY, Harness, simulate

SMSIR_BODY = {"mobile": "09121234567", "templateId": 100200, "parameters": [{"name": "CODE", "value": "483920"}]}
KAVENEGAR_FORM = {"receptor": "09121234567", "template": "verify", "token": "483920"}


def smsir_post(body: Any, path: str = "/smsir/v1/send/verify") -> tuple[int, Any]:
    async def scenario(sim: Harness) -> tuple[int, Any]:
        async with sim.session.post(sim.url + path, json=body, headers={"x-api-key": SMSIR_KEY}) as response:
            return response.status, await response.json()

    return simulate(scenario)


def kavenegar_call(method: str, *, query: dict[str, str] | None = None, form: dict[str, str] | None = None) -> Any:
    async def scenario(sim: Harness) -> tuple[int, Any]:
        url = f"{sim.url}/kavenegar/v1/{KAVENEGAR_KEY}/verify/lookup.json"
        async with sim.session.request(method, url, params=query, data=form) as response:
            return response.status, await response.json()

    return simulate(scenario)


@pytest.mark.parametrize("kind", ["smsir", "kavenegar"])
def test_a_key_the_simulator_does_not_know_gets_the_vendors_key_error(kind: str) -> None:
    async def scenario(sim: Harness) -> tuple[str, int | None, list[Any]]:
        result = await sim.adapter(kind, token="not-a-key").send(sim.session, MESSAGES[kind])
        return result.error_code, result.http_status, [record["message_id"] for record in await sim.received(kind)]

    assert simulate(scenario) == (("10", 401, [None]) if kind == "smsir" else ("403", 403, [None]))


@pytest.mark.parametrize("kind", ["smsir", "kavenegar"])
def test_a_key_added_through_the_control_api_is_accepted(kind: str) -> None:
    async def scenario(sim: Harness) -> str:
        await sim.control("POST", "/_sim/accounts", {"provider": kind, "key": "added-key"})
        return (await sim.adapter(kind, token="added-key").send(sim.session, MESSAGES[kind])).outcome.value

    assert simulate(scenario) == "sent"


@pytest.mark.parametrize(("kind", "code"), [("smsir", "113"), ("kavenegar", "424")])
def test_an_unknown_template_gets_the_vendors_template_error_until_registered(kind: str, code: str) -> None:
    async def scenario(sim: Harness) -> list[str]:
        message = type(MESSAGES[kind])(MESSAGES[kind].phone, "555", MESSAGES[kind].params)
        before = await sim.adapter(kind).send(sim.session, message)
        await sim.control("POST", "/_sim/templates", {"provider": kind, "template": 555})
        after = await sim.adapter(kind).send(sim.session, message)
        return [before.error_code, after.outcome.value]

    assert simulate(scenario) == [code, "sent"]


def test_smsir_reads_pascal_case_keys_and_a_trailing_slash() -> None:
    body = {"Mobile": "09121234567", "TemplateId": 100200, "Parameters": [{"Name": "CODE", "Value": "483920"}]}

    status, answer = smsir_post(body, "/smsir/v1/send/verify/")

    assert (status, answer["status"]) == (200, 1)
    assert answer["data"]["messageId"] == 1


MOBILE_FORMS = ["09121234567", "9121234567", 9121234567, "+989121234567", "989121234567", "00989121234567"]


@pytest.mark.parametrize("mobile", MOBILE_FORMS)
def test_smsir_takes_every_mobile_form_its_docs_show(mobile: Any) -> None:
    async def scenario(sim: Harness) -> tuple[int, list[str]]:
        body = {**SMSIR_BODY, "mobile": mobile}
        async with sim.session.post(
            sim.url + "/smsir/v1/send/verify", json=body, headers={"x-api-key": SMSIR_KEY}
        ) as response:
            status = response.status
        return status, [record["mobile"] for record in await sim.received("smsir")]

    assert simulate(scenario) == (200, ["+989121234567"])


@pytest.mark.parametrize("mobile", ["0912123456", "08121234567", "+449121234567", ""])
def test_smsir_refuses_anything_else_with_104(mobile: str) -> None:
    status, answer = smsir_post({**SMSIR_BODY, "mobile": mobile})

    assert (status, answer["status"]) == (400, 104)


def test_smsir_refuses_a_parameter_value_over_25_characters_with_114() -> None:
    fits = smsir_post({**SMSIR_BODY, "parameters": [{"name": "CODE", "value": "x" * 25}]})
    too_long = smsir_post({**SMSIR_BODY, "parameters": [{"name": "CODE", "value": "x" * 26}]})

    assert fits[0] == 200
    assert (too_long[0], too_long[1]["status"], too_long[1]["message"]) == (
        400,
        114,
        "طول رشته مقدار پارامتر بیش از حد مجاز (25 کاراکتر) می‌باشد",
    )


@pytest.mark.parametrize(("method", "where"), [("GET", "query"), ("POST", "query"), ("POST", "form")])
def test_kavenegar_takes_get_and_post_with_the_query_or_a_form(method: str, where: str) -> None:
    status, answer = kavenegar_call(method, **{where: KAVENEGAR_FORM})

    assert (status, answer["return"]["status"]) == (200, 200)
    assert answer["entries"][0]["receptor"] == "09121234567"


@pytest.mark.parametrize(
    ("form", "code"),
    [
        ({"receptor": "09121234567", "template": "verify"}, 400),
        ({"receptor": "09121234567", "token": "1"}, 400),
        ({"template": "verify", "token": "1"}, 400),
        ({**KAVENEGAR_FORM, "token": " "}, 406),
        ({**KAVENEGAR_FORM, "token": "48 39"}, 431),
        ({**KAVENEGAR_FORM, "token2": "a b"}, 431),
        ({**KAVENEGAR_FORM, "token": "48\t39"}, 431),
        ({**KAVENEGAR_FORM, "token10": "a b c d e f g"}, 431),
        ({**KAVENEGAR_FORM, "token20": "a b c d e f g h i j"}, 431),
    ],
)
def test_kavenegar_refuses_missing_parameters_and_tokens_with_spaces(form: dict[str, str], code: int) -> None:
    status, answer = kavenegar_call("POST", form=form)

    assert (status, answer["return"]["status"], answer["entries"]) == (code, code, None)


def test_kavenegar_allows_a_few_spaces_in_token10_and_token20() -> None:
    five, eight = "a b c d e f", "a b c d e f g h i"
    status, _ = kavenegar_call("POST", form={**KAVENEGAR_FORM, "token10": five, "token20": eight})

    assert status == 200
