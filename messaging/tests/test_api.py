"""The client API: POST/GET /sendsms/, GET /sendsms/<id>/, and the OpenAPI pages."""

from __future__ import annotations

import io
import json
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from clients.services import client_create
from common.exceptions import ApplicationError
from common.parsers import LimitedJSONParser
from common.sealing import unseal
from common.tests.phone_forms import PHONE_FORMS
from conftest import GatewayAPIClient
from messaging.models import Attempt, VerifyRequests
from messaging.tests.factories import make_attempt, make_engine, make_request, make_template

PHONE = "+989121234567"
VALID = {"phone": "09121234567", "template_id": 1, "token_value": {"code": "123456"}}


@pytest.fixture
def template(db: Any) -> Any:
    return make_template(template_id=1, token_names=["code"])


@pytest.fixture
def two_token_template(db: Any) -> Any:
    return make_template(template_id=2, token_names=["name", "order"])


def post(api: GatewayAPIClient, body: Any) -> Any:
    return api.post("/sendsms/", body, format="json")


def assert_error(response: Any, status: int, code: str, field: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.content
    error = response.json()["error"]
    assert set(error) == {"code", "message", "fields"}
    assert error["code"] == code
    assert error["message"]
    if field is not None:
        assert [item["code"] for item in error["fields"][field]] == [code]
    return error


# --- Accepting a request -------------------------------------------------------------------------


def test_sendsms_accepts_request_with_202_and_location(api: GatewayAPIClient, template: Any) -> None:
    response = post(api, VALID)

    assert response.status_code == 202
    body = response.json()
    assert body["flag"] == "PENDING"
    assert body["phone"] == PHONE
    assert body["template_id"] == 1
    assert body["tries"] == 0
    assert body["system"] is None
    assert response["Location"] == f"/sendsms/{body['id']}/"
    row = VerifyRequests.objects.get()
    assert row.id == body["id"]
    assert row.request_sender == api.gateway_client
    assert row.flag == VerifyRequests.Flag.PENDING


def test_sendsms_stores_token_value_sealed_not_plaintext(api: GatewayAPIClient, template: Any) -> None:
    post(api, VALID)

    row = VerifyRequests.objects.get()
    assert "123456" not in row.token_value
    assert unseal(row.token_value) == {"code": "123456"}


def test_sendsms_accepts_token_list_in_template_order(api: GatewayAPIClient, two_token_template: Any) -> None:
    response = post(api, {"phone": "09121234567", "template_id": 2, "token_value": ["Ali", "A-1001"]})

    assert response.status_code == 202, response.content
    assert unseal(VerifyRequests.objects.get().token_value) == {"name": "Ali", "order": "A-1001"}


def test_sendsms_accepts_integer_token_as_its_digits(api: GatewayAPIClient, template: Any) -> None:
    response = post(api, {**VALID, "token_value": {"code": 123456}})

    assert response.status_code == 202, response.content
    assert unseal(VerifyRequests.objects.get().token_value) == {"code": "123456"}


@pytest.mark.parametrize("phone", PHONE_FORMS)
def test_sendsms_stores_every_accepted_phone_form_as_e164(api: GatewayAPIClient, template: Any, phone: str) -> None:
    response = post(api, {**VALID, "phone": phone})

    assert response.status_code == 202, response.content
    assert VerifyRequests.objects.get().phone == PHONE


# --- Refusing bad input: one error shape, nothing stored ------------------------------------------


@pytest.fixture
def refused(db: Any) -> Any:
    """Runs after the test: whatever was refused, nothing was stored."""
    yield
    assert VerifyRequests.objects.count() == 0


@pytest.mark.parametrize("missing", ["phone", "template_id", "token_value"])
def test_sendsms_rejects_missing_field_with_required(
    api: GatewayAPIClient, template: Any, refused: Any, missing: str
) -> None:
    body = {key: value for key, value in VALID.items() if key != missing}

    assert_error(post(api, body), 400, "required", field=missing)


def test_sendsms_rejects_empty_object_listing_every_required_field(
    api: GatewayAPIClient, template: Any, refused: Any
) -> None:
    error = assert_error(post(api, {}), 400, "required")

    assert set(error["fields"]) == {"phone", "template_id", "token_value"}


def test_sendsms_rejects_extra_field_with_unexpected_field(api: GatewayAPIClient, template: Any, refused: Any) -> None:
    assert_error(post(api, {**VALID, "priority": "high"}), 400, "unexpected_field", field="priority")


def test_sendsms_reports_extra_and_invalid_fields_together(api: GatewayAPIClient, template: Any, refused: Any) -> None:
    error = assert_error(post(api, {**VALID, "phone": "nope", "extra": 1}), 400, "validation_error")

    assert error["fields"]["extra"][0]["code"] == "unexpected_field"
    assert error["fields"]["phone"][0]["code"] == "invalid_phone"


@pytest.mark.parametrize(
    "phone",
    ["not a phone", "0912", "091212345678901", "++989121234567", "09121234567x", 9121234567.5, "0" * 40],
    ids=["words", "too-short", "too-long", "double-plus", "trailing-letter", "float", "over-max-length"],
)
def test_sendsms_rejects_unparseable_phone_with_invalid_phone(
    api: GatewayAPIClient, template: Any, refused: Any, phone: Any
) -> None:
    response = post(api, {**VALID, "phone": phone})

    assert response.status_code == 400
    assert response.json()["error"]["fields"]["phone"][0]["code"] == "invalid_phone"


def test_sendsms_rejects_empty_phone_with_blank(api: GatewayAPIClient, template: Any, refused: Any) -> None:
    assert_error(post(api, {**VALID, "phone": ""}), 400, "blank", field="phone")


def test_sendsms_rejects_letters_in_phone_with_invalid_phone(
    api: GatewayAPIClient, template: Any, refused: Any
) -> None:
    assert_error(post(api, {**VALID, "phone": "0912abc4567"}), 400, "invalid_phone", field="phone")


def test_sendsms_rejects_landline_number_with_invalid_phone(api: GatewayAPIClient, template: Any, refused: Any) -> None:
    assert_error(post(api, {**VALID, "phone": "02112345678"}), 400, "invalid_phone", field="phone")


def test_sendsms_rejects_foreign_number_with_invalid_phone(api: GatewayAPIClient, template: Any, refused: Any) -> None:
    assert_error(post(api, {**VALID, "phone": "+14155552671"}), 400, "invalid_phone", field="phone")


def test_sendsms_rejects_unknown_template_with_unknown_template(
    api: GatewayAPIClient, template: Any, refused: Any
) -> None:
    assert_error(post(api, {**VALID, "template_id": 99}), 400, "unknown_template", field="template_id")


@pytest.mark.parametrize("template_id", ["one", 1.5, 0, -1, 10**12, None, True])
def test_sendsms_rejects_template_id_that_is_not_a_positive_integer(
    api: GatewayAPIClient, template: Any, refused: Any, template_id: Any
) -> None:
    response = post(api, {**VALID, "template_id": template_id})

    assert response.status_code == 400
    assert "template_id" in response.json()["error"]["fields"]


def test_sendsms_rejects_missing_token_name_with_missing_token(
    api: GatewayAPIClient, two_token_template: Any, refused: Any
) -> None:
    body = {**VALID, "template_id": 2, "token_value": {"name": "Ali"}}

    error = assert_error(post(api, body), 400, "missing_token", field="token_value")
    assert "order" in error["message"]


def test_sendsms_rejects_unknown_token_name_with_unknown_token(
    api: GatewayAPIClient, template: Any, refused: Any
) -> None:
    error = assert_error(post(api, {**VALID, "token_value": {"code": "1", "pin": "2"}}), 400, "unknown_token")

    assert "pin" in error["message"]


@pytest.mark.parametrize("tokens", [[], ["1", "2"]])
def test_sendsms_rejects_token_list_of_wrong_length_with_token_count_mismatch(
    api: GatewayAPIClient, template: Any, refused: Any, tokens: list[str]
) -> None:
    assert_error(post(api, {**VALID, "token_value": tokens}), 400, "token_count_mismatch", field="token_value")


@pytest.mark.parametrize("value", ["", "   "])
def test_sendsms_rejects_empty_token_with_empty_token(
    api: GatewayAPIClient, template: Any, refused: Any, value: str
) -> None:
    assert_error(post(api, {**VALID, "token_value": {"code": value}}), 400, "empty_token", field="token_value.code")


def test_sendsms_rejects_token_over_25_characters_with_token_too_long(
    api: GatewayAPIClient, template: Any, refused: Any
) -> None:
    body = {**VALID, "token_value": {"code": "x" * 26}}

    assert_error(post(api, body), 400, "token_too_long", field="token_value.code")


def test_sendsms_accepts_token_of_exactly_25_characters(api: GatewayAPIClient, template: Any) -> None:
    assert post(api, {**VALID, "token_value": {"code": "x" * 25}}).status_code == 202


@pytest.mark.parametrize("value", ["12 34", "<b>1</b>", "12\n34", "12\t34", "1;2", "12\x0034"])
def test_sendsms_rejects_characters_providers_refuse_with_token_invalid_characters(
    api: GatewayAPIClient, template: Any, refused: Any, value: str
) -> None:
    body = {**VALID, "token_value": {"code": value}}

    assert_error(post(api, body), 400, "token_invalid_characters", field="token_value.code")


@pytest.mark.parametrize("token_value", ["123456", 123456, None, True])
def test_sendsms_rejects_token_value_that_is_not_object_or_list_with_invalid_type(
    api: GatewayAPIClient, template: Any, refused: Any, token_value: Any
) -> None:
    response = post(api, {**VALID, "token_value": token_value})

    assert response.status_code == 400
    assert response.json()["error"]["code"] in ({"null"} if token_value is None else {"invalid_type"})


@pytest.mark.parametrize("value", [{"nested": "1"}, ["1"], 1.5, True, None])
def test_sendsms_rejects_token_that_is_not_a_string_with_invalid_type(
    api: GatewayAPIClient, template: Any, refused: Any, value: Any
) -> None:
    body = {**VALID, "token_value": {"code": value}}

    assert_error(post(api, body), 400, "invalid_type", field="token_value.code")


@pytest.mark.parametrize("body", ['{"phone": ', "not json", "\xff\xfe", "{'phone': '0912'}"])
def test_sendsms_rejects_body_that_is_not_json_with_malformed_json(
    api: GatewayAPIClient, template: Any, refused: Any, body: str
) -> None:
    response = api.post("/sendsms/", body.encode("latin-1"), content_type="application/json")

    assert_error(response, 400, "malformed_json")


def test_sendsms_rejects_deeply_nested_json_without_a_500(api: GatewayAPIClient, template: Any, refused: Any) -> None:
    body = '{"phone": ' + "[" * 5000 + "]" * 5000 + "}"

    response = api.post("/sendsms/", body, content_type="application/json")

    assert_error(response, 400, "malformed_json")


def test_sendsms_rejects_json_array_body(api: GatewayAPIClient, template: Any, refused: Any) -> None:
    assert_error(post(api, [VALID]), 400, "invalid_type")


@pytest.mark.parametrize("body", ["null", '"text"', "42"])
def test_sendsms_rejects_json_scalar_body(api: GatewayAPIClient, template: Any, refused: Any, body: str) -> None:
    response = api.post("/sendsms/", body, content_type="application/json")

    assert response.status_code == 400
    assert response.json()["error"]["code"]


def test_sendsms_rejects_empty_json_body_with_required(api: GatewayAPIClient, template: Any, refused: Any) -> None:
    response = api.post("/sendsms/", b"", content_type="application/json")

    assert_error(response, 400, "required")


def test_sendsms_rejects_text_plain_with_unsupported_media_type(
    api: GatewayAPIClient, template: Any, refused: Any
) -> None:
    response = api.post("/sendsms/", json.dumps(VALID), content_type="text/plain")

    assert_error(response, 415, "unsupported_media_type")


def test_sendsms_rejects_form_body_with_unsupported_media_type(
    api: GatewayAPIClient, template: Any, refused: Any
) -> None:
    response = api.post("/sendsms/", {"phone": "09121234567", "template_id": "1"}, format="multipart")

    assert_error(response, 415, "unsupported_media_type")


def test_sendsms_rejects_urlencoded_body_with_unsupported_media_type(
    api: GatewayAPIClient, template: Any, refused: Any
) -> None:
    response = api.post(
        "/sendsms/", "phone=09121234567&template_id=1", content_type="application/x-www-form-urlencoded"
    )

    assert_error(response, 415, "unsupported_media_type")


def test_sendsms_rejects_body_over_16_kib_with_payload_too_large(
    api: GatewayAPIClient, template: Any, refused: Any
) -> None:
    body = json.dumps({**VALID, "padding": "x" * 17_000})

    response = api.post("/sendsms/", body, content_type="application/json")

    assert_error(response, 413, "payload_too_large")


def test_sendsms_rejects_oversized_declared_length_before_reading_body(
    api: GatewayAPIClient, template: Any, refused: Any
) -> None:
    response = api.post("/sendsms/", "{}", content_type="application/json", CONTENT_LENGTH=str(16 * 1024 + 1))

    assert_error(response, 413, "payload_too_large")


def test_json_parser_refuses_body_over_16_kib_sent_without_content_length() -> None:
    # With chunked transfer there is no Content-Length for the middleware to check: the parser's cap holds.
    stream = io.BytesIO(json.dumps({"padding": "x" * 17_000}).encode())

    with pytest.raises(ApplicationError) as caught:
        LimitedJSONParser().parse(stream)

    assert (caught.value.status_code, caught.value.code) == (413, "payload_too_large")


def test_json_parser_accepts_body_of_exactly_16_kib() -> None:
    body = json.dumps({"padding": ""}).encode()
    body = body.replace(b'""', b'"' + b"x" * (16 * 1024 - len(body)) + b'"')

    assert len(body) == 16 * 1024
    assert LimitedJSONParser().parse(io.BytesIO(body)) == {"padding": "x" * (16 * 1024 - 15)}


def test_sendsms_rejects_get_style_methods_with_one_error_shape(api: GatewayAPIClient, template: Any) -> None:
    assert_error(api.put("/sendsms/", VALID, format="json"), 405, "method_not_allowed")


# --- Reading one request ------------------------------------------------------------------------


def test_sendsms_detail_returns_flag_tries_system_attempts_and_times(api: GatewayAPIClient, template: Any) -> None:
    smsir, kavenegar = make_engine(name="smsir"), make_engine(name="kavenegar", kind="kavenegar")
    now = timezone.now()
    row = make_request(
        api.gateway_client,
        flag=VerifyRequests.Flag.DONE,
        tries=2,
        system=kavenegar,
        completed_at=now,
        provider_message_id="8792343",
    )
    make_attempt(row, smsir, outcome=Attempt.Outcome.FAILED, error_code="http_500", http_status=500)
    make_attempt(row, kavenegar)

    response = api.get(f"/sendsms/{row.id}/")

    assert response.status_code == 200
    body = response.json()
    assert (body["id"], body["flag"], body["tries"], body["system"]) == (row.id, "DONE", 2, "kavenegar")
    assert body["provider_message_id"] == "8792343"
    assert body["created_at"] and body["updated_at"] and body["completed_at"]
    assert [(a["engine"], a["outcome"], a["http_status"]) for a in body["attempts"]] == [
        ("smsir", "failed", 500),
        ("kavenegar", "sent", 200),
    ]
    assert "token_value" not in body


def test_sendsms_detail_shows_sending_request_as_pending(api: GatewayAPIClient, template: Any) -> None:
    row = make_request(api.gateway_client, flag=VerifyRequests.Flag.SENDING)

    body = api.get(f"/sendsms/{row.id}/").json()

    assert body["flag"] == "PENDING"
    assert body["attempts"] == []
    assert body["system"] is None


def test_sendsms_detail_of_another_clients_request_is_not_found(api: GatewayAPIClient, template: Any) -> None:
    other, _ = client_create(name="other-team")
    row = make_request(other)

    assert_error(api.get(f"/sendsms/{row.id}/"), 404, "not_found")


def test_sendsms_detail_of_unknown_id_is_not_found(api: GatewayAPIClient, template: Any) -> None:
    assert_error(api.get("/sendsms/999999/"), 404, "not_found")


def test_sendsms_detail_of_non_numeric_id_is_json_not_found(api: GatewayAPIClient, template: Any) -> None:
    response = api.get("/sendsms/abc/")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


# --- Listing requests ---------------------------------------------------------------------------


def test_sendsms_list_shows_only_own_requests_newest_first(api: GatewayAPIClient, template: Any) -> None:
    now = timezone.now()
    older = make_request(api.gateway_client, created_at=now - timedelta(minutes=2))
    newer = make_request(api.gateway_client, created_at=now - timedelta(minutes=1))
    make_request(client_create(name="other-team")[0], created_at=now)

    body = api.get("/sendsms/").json()

    assert body["count"] == 2
    assert [item["id"] for item in body["results"]] == [newer.id, older.id]


def test_sendsms_list_is_paginated_with_limit_and_offset(api: GatewayAPIClient, template: Any) -> None:
    now = timezone.now()
    rows = [make_request(api.gateway_client, created_at=now - timedelta(seconds=i)) for i in range(5)]

    first = api.get("/sendsms/", {"limit": 2}).json()
    second = api.get("/sendsms/", {"limit": 2, "offset": 2}).json()

    assert set(first) == {"count", "next", "previous", "results"}
    assert first["count"] == 5
    assert [item["id"] for item in first["results"]] == [rows[0].id, rows[1].id]
    assert first["previous"] is None
    assert "offset=2" in first["next"]
    assert [item["id"] for item in second["results"]] == [rows[2].id, rows[3].id]
    assert second["previous"] is not None


def test_sendsms_list_filter_pending_includes_sending(api: GatewayAPIClient, template: Any) -> None:
    pending = make_request(api.gateway_client)
    sending = make_request(api.gateway_client, flag=VerifyRequests.Flag.SENDING)
    make_request(api.gateway_client, flag=VerifyRequests.Flag.DONE)
    make_request(api.gateway_client, flag=VerifyRequests.Flag.FAILED)

    body = api.get("/sendsms/", {"flag": "PENDING"}).json()

    assert {item["id"] for item in body["results"]} == {pending.id, sending.id}
    assert {item["flag"] for item in body["results"]} == {"PENDING"}


@pytest.mark.parametrize("flag", ["DONE", "FAILED"])
def test_sendsms_list_filters_by_final_flag(api: GatewayAPIClient, template: Any, flag: str) -> None:
    make_request(api.gateway_client)
    wanted = make_request(api.gateway_client, flag=flag)

    body = api.get("/sendsms/", {"flag": flag}).json()

    assert [item["id"] for item in body["results"]] == [wanted.id]


@pytest.mark.parametrize("flag", ["SENT", "SENDING", "pending"])
def test_sendsms_list_rejects_bad_flag(api: GatewayAPIClient, template: Any, flag: str) -> None:
    assert_error(api.get("/sendsms/", {"flag": flag}), 400, "invalid_choice", field="flag")


@pytest.mark.parametrize("phone", ["09121234567", "+989121234567", "۰۹۱۲۱۲۳۴۵۶۷", "0912 123 4567"])
def test_sendsms_list_filters_by_phone_in_any_accepted_form(api: GatewayAPIClient, template: Any, phone: str) -> None:
    wanted = make_request(api.gateway_client, phone=PHONE)
    make_request(api.gateway_client, phone="+989351234567")

    body = api.get("/sendsms/", {"phone": phone}).json()

    assert [item["id"] for item in body["results"]] == [wanted.id]


def test_sendsms_list_rejects_bad_phone_filter(api: GatewayAPIClient, template: Any) -> None:
    assert_error(api.get("/sendsms/", {"phone": "02112345678"}), 400, "invalid_phone", field="phone")


def test_sendsms_list_rejects_unknown_query_parameter(api: GatewayAPIClient, template: Any) -> None:
    assert_error(api.get("/sendsms/", {"status": "DONE"}), 400, "unexpected_field", field="status")


@pytest.mark.parametrize("params", [{"limit": "0"}, {"limit": "abc"}, {"offset": "-1"}])
def test_sendsms_list_rejects_bad_paging_parameters(
    api: GatewayAPIClient, template: Any, params: dict[str, str]
) -> None:
    response = api.get("/sendsms/", params)

    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == set(params)


# --- Authentication on every endpoint ---------------------------------------------------------------


@pytest.mark.parametrize(("method", "path"), [("post", "/sendsms/"), ("get", "/sendsms/"), ("get", "/sendsms/1/")])
def test_sendsms_endpoints_refuse_requests_without_key(db: Any, template: Any, method: str, path: str) -> None:
    response = getattr(APIClient(), method)(path, VALID if method == "post" else None, format="json")

    assert_error(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"] == "Token"
    assert VerifyRequests.objects.count() == 0


# --- OpenAPI --------------------------------------------------------------------------------------


def test_schema_is_public_and_documents_sendsms_with_202_and_error_examples(db: Any) -> None:
    response = APIClient().get("/schema/", {"format": "json"})

    assert response.status_code == 200
    schema = json.loads(response.content)
    post_op = schema["paths"]["/sendsms/"]["post"]
    assert "202" in post_op["responses"]
    bad_request = post_op["responses"]["400"]["content"]["application/json"]["examples"]
    codes = {example["value"]["error"]["code"] for example in bad_request.values()}
    assert {"invalid_phone", "unknown_template", "missing_token", "token_too_long", "malformed_json"} <= codes
    assert "401" in post_op["responses"]
    assert "/sendsms/{request_id}/" in schema["paths"]


def test_schema_is_served_even_with_a_wrong_key(db: Any) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token wrong")

    assert client.get("/schema/").status_code == 200


def test_swagger_page_renders_html_without_a_key(db: Any) -> None:
    response = APIClient().get("/swagger/")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert b"swagger" in response.content.lower()


def test_sendsms_detail_shows_the_providers_delivery_report(api: GatewayAPIClient, template: Any) -> None:
    delivered_at = timezone.now()
    row = make_request(
        api.gateway_client,
        flag=VerifyRequests.Flag.DONE,
        system=make_engine(name="kavenegar", kind="kavenegar"),
        completed_at=delivered_at,
        delivery_state=VerifyRequests.Delivery.UNDELIVERED,
        delivery_code="11",
        delivery_text="نرسیده به گیرنده",
    )

    body = api.get(f"/sendsms/{row.id}/").json()

    assert body["delivery"] == {
        "state": "undelivered",
        "provider_code": "11",
        "provider_text": "نرسیده به گیرنده",
        "delivered_at": None,
    }


def test_sendsms_delivery_is_null_before_a_provider_accepted_it(api: GatewayAPIClient, template: Any) -> None:
    row = make_request(api.gateway_client)

    assert api.get(f"/sendsms/{row.id}/").json()["delivery"] is None
    assert api.get("/sendsms/").json()["results"][0]["delivery"] is None


def test_sendsms_list_filters_by_delivery_state(api: GatewayAPIClient, template: Any) -> None:
    done = VerifyRequests.Flag.DONE
    make_request(api.gateway_client, flag=done, delivery_state=VerifyRequests.Delivery.DELIVERED)
    wanted = make_request(api.gateway_client, flag=done, delivery_state=VerifyRequests.Delivery.UNDELIVERED)
    make_request(api.gateway_client)

    body = api.get("/sendsms/", {"delivery": "undelivered"}).json()

    assert [(item["id"], item["delivery"]["state"]) for item in body["results"]] == [(wanted.id, "undelivered")]


def test_sendsms_list_refuses_an_unknown_delivery_state(api: GatewayAPIClient, template: Any) -> None:
    response = api.get("/sendsms/", {"delivery": "arrived"})

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "validation_error" or error["code"] == "invalid_choice"
    assert error["fields"]["delivery"][0]["code"] == "invalid_choice"
