"""The served OpenAPI schema and the server agree: what the schema allows is accepted, what it refuses is a 400.

scripts/schemathesis.sh fuzzes a live gateway against the same schema in CI; these pin each agreement down.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import override_settings

from common.conf import gateway_settings
from conftest import GatewayAPIClient
from messaging.tests.factories import make_template

VALID = {"phone": "09121234567", "template_id": 1, "token_value": {"code": "123456"}}


@pytest.fixture
def template(db: Any) -> Any:
    return make_template(template_id=1, token_names=["code"])


def served_schema(api: GatewayAPIClient) -> dict[str, Any]:
    response = api.get("/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    return dict(response.json())


def component(schema: dict[str, Any], ref: dict[str, Any]) -> dict[str, Any]:
    return dict(schema["components"]["schemas"][ref["$ref"].rsplit("/", 1)[1]])


def request_body(schema: dict[str, Any], path: str) -> dict[str, Any]:
    return component(schema, schema["paths"][path]["post"]["requestBody"]["content"]["application/json"]["schema"])


def allows(rule: dict[str, Any], value: Any) -> bool:
    """Whether ``value`` fits a string or integer schema (the keywords this API's schema uses)."""
    if "oneOf" in rule:
        return any(allows(option, value) for option in rule["oneOf"])
    if rule.get("type") == "integer":
        return type(value) is int and rule["minimum"] <= value <= rule["maximum"]
    return (
        isinstance(value, str)
        and rule.get("minLength", 0) <= len(value) <= rule.get("maxLength", len(value))
        and re.search(rule.get("pattern", ""), value) is not None
    )


def test_the_list_is_described_as_the_page_it_answers(api: GatewayAPIClient, template: Any) -> None:
    api.post("/sendsms/", VALID, format="json")
    schema = served_schema(api)
    operation = schema["paths"]["/sendsms/"]["get"]
    page = component(schema, operation["responses"]["200"]["content"]["application/json"]["schema"])

    body = api.get("/sendsms/").json()

    assert set(page["properties"]) == set(body) == {"count", "next", "previous", "results"}
    assert page["properties"]["results"]["type"] == "array"
    assert len(body["results"]) == body["count"] == 1


@pytest.mark.parametrize(("name", "low", "high"), [("limit", 1, 500), ("offset", 0, 2_147_483_647)])
def test_limit_and_offset_bounds_are_in_the_schema_and_enforced(
    api: GatewayAPIClient, name: str, low: int, high: int
) -> None:
    parameters = {each["name"]: each for each in served_schema(api)["paths"]["/sendsms/"]["get"]["parameters"]}

    assert (parameters[name]["schema"]["minimum"], parameters[name]["schema"]["maximum"]) == (low, high)
    assert api.get(f"/sendsms/?{name}={low}").status_code == 200
    assert api.get(f"/sendsms/?{name}={high}").status_code == 200
    assert api.get(f"/sendsms/?{name}={low - 1}").status_code == 400
    assert api.get(f"/sendsms/?{name}={high + 1}").status_code == 400


TOKENS = ["123456", " 12-ab_C.d ", "x" * 25, "ناصر", 123456, -5, 10**24, "x" * 26, "a b", "", "!", 10**25, True, 1.5]


@pytest.mark.parametrize("token", TOKENS)
def test_a_token_value_is_accepted_exactly_when_the_schema_allows_it(
    api: GatewayAPIClient, template: Any, token: Any
) -> None:
    rule = request_body(served_schema(api), "/sendsms/")["properties"]["token_value"]
    object_rule = next(option for option in rule["oneOf"] if option["type"] == "object")

    response = api.post("/sendsms/", {**VALID, "token_value": {"code": token}}, format="json")

    assert response.status_code == (202 if allows(object_rule["additionalProperties"], token) else 400)


CODES = [
    "482913",
    "4829",
    "4829134567",
    " 48 29 13 ",
    "۴۸۲۹۱۳",
    "482",
    "48291345678",
    "48a913",
    "",
    482913,
    " " * 29 + "4829",
]


@pytest.mark.parametrize("code", CODES)
def test_a_code_is_checked_exactly_when_the_schema_allows_it(api: GatewayAPIClient, template: Any, code: Any) -> None:
    started = api.post("/verifications/", {"phone": "09121234567", "template_id": 1}, format="json").json()
    rule = request_body(served_schema(api), "/verifications/{verification_id}/check/")["properties"]["code"]

    response = api.post(f"/verifications/{started['id']}/check/", {"code": code}, format="json")

    assert response.status_code == (200 if allows(rule, code) else 400), response.content


KEYS = ["k-1", "a" * 255, "key with spaces", "~!@#", "a" * 256, "   ", "ключ", "tab\there"]


@pytest.mark.parametrize("key", KEYS)
@pytest.mark.parametrize("path", ["/sendsms/", "/verifications/"])
def test_an_idempotency_key_is_accepted_exactly_when_the_schema_allows_it(
    api: GatewayAPIClient, template: Any, key: str, path: str
) -> None:
    parameters = served_schema(api)["paths"][path]["post"]["parameters"]
    rule = next(each for each in parameters if each["name"] == "Idempotency-Key")["schema"]
    body = VALID if path == "/sendsms/" else {"phone": "09121234567", "template_id": 1}

    response = api.post(path, body, format="json", HTTP_IDEMPOTENCY_KEY=key)

    assert response.status_code in ({201, 202} if allows(rule, key) else {400}), response.content


@pytest.mark.parametrize("path", ["/sendsms/", "/verifications/", "/verifications/check/"])
def test_request_bodies_refuse_unknown_fields_as_the_schema_says(api: GatewayAPIClient, path: str) -> None:
    assert request_body(served_schema(api), path)["additionalProperties"] is False
    assert api.post(path, {"extra": 1}, format="json").json()["error"]["fields"]["extra"][0]["code"] == (
        "unexpected_field"
    )


@pytest.mark.parametrize("path", ["/verifications/", "/verifications/check/"])
def test_template_id_is_required_in_the_schema_exactly_when_the_server_requires_it(
    api: GatewayAPIClient, template: Any, path: str
) -> None:
    body = {"phone": "09121234567"} if path == "/verifications/" else {"phone": "09121234567", "code": "123456"}
    answered = {200, 201, 404}  # checking by phone before any verification exists is a 404

    required = request_body(served_schema(api), path).get("required", [])
    refused = api.post(path, body, format="json")
    assert "template_id" in required
    assert refused.status_code == 400
    assert refused.json()["error"]["fields"]["template_id"][0]["code"] == "required"

    with override_settings(SMS_GATEWAY={**gateway_settings(), "OTP_DEFAULT_TEMPLATE_ID": 1}):
        assert "template_id" not in request_body(served_schema(api), path).get("required", [])
        assert api.post(path, body, format="json").status_code in answered


@pytest.mark.parametrize("phone", [9121234567, " " * 22 + "09121234567"])
def test_a_phone_is_a_string_of_at_most_32_characters_as_the_schema_says(
    api: GatewayAPIClient, template: Any, phone: Any
) -> None:
    rule = request_body(served_schema(api), "/sendsms/")["properties"]["phone"]

    assert (rule["type"], rule["maxLength"]) == ("string", 32)
    assert api.post("/sendsms/", {**VALID, "phone": phone}, format="json").status_code == 400
    assert api.post("/sendsms/", {**VALID, "phone": " " * 21 + "09121234567"}, format="json").status_code == 202
