"""The verification API: start, resend, check, cancel, status; through the real views and services."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from rest_framework.test import APIClient

from clients.services import client_create
from messaging.models import AllowedRegion, VerifyRequests
from messaging.tests.factories import make_template
from verifications.models import TestNumber, Verification
from verifications.tests.conftest import PHONE, START, check, database_text, gateway, sent_code, start


def started(api: Any, phone: str = "09121234567", **body: Any) -> tuple[dict[str, Any], str]:
    response = start(api, phone, **body)
    assert response.status_code == 201, response.content
    data = response.json()
    return data, sent_code(data["send_request_id"])


# --- Start --------------------------------------------------------------------------------------------


def test_start_sends_a_six_digit_code_and_never_returns_it(api, clock):
    response = start(api)
    assert response.status_code == 201
    data = response.json()
    code = sent_code(data["send_request_id"])
    assert len(code) == 6 and code.isdigit()
    assert code not in response.content.decode()
    assert data["status"] == "pending"
    assert data["phone"] == PHONE
    assert (data["attempts_left"], data["send_count"]) == (5, 1)
    assert data["expires_at"] == "2026-11-27T10:10:00Z"
    assert data["resend_after"] == "2026-11-27T10:01:00Z"
    assert response["Location"] == f"/verifications/{data['id']}/"
    request = VerifyRequests.objects.get(id=data["send_request_id"])
    # A code still queued when it expires is never sent.
    assert request.send_before == START + timedelta(minutes=10)


def test_the_code_is_stored_only_as_hmac_and_sealed(api):
    # Ten digits, so the code cannot turn up by chance inside a timestamp's microseconds.
    with gateway(OTP_CODE_LENGTH=10):
        data, code = started(api)
    verification = Verification.objects.get(id=data["id"])
    assert code not in verification.code_hash and code not in verification.code_sealed
    assert len(verification.code_hash) == 64
    assert code not in database_text()


@pytest.mark.parametrize(("setting", "template_length", "expected"), [(4, None, 4), (10, None, 10), (6, 8, 8)])
def test_code_length_comes_from_the_template_or_the_setting(api, template, setting, template_length, expected):
    template.code_length = template_length
    template.save()
    with gateway(OTP_CODE_LENGTH=setting):
        _, code = started(api)
    assert len(code) == expected


def test_a_template_asking_for_an_impossible_code_length_is_refused(api, template):
    template.code_length = 12
    template.save()
    assert start(api).json()["error"]["code"] == "invalid_code_length"


def test_a_template_without_a_code_token_is_refused(api):
    make_template(template_id=2, token_names=["name"])
    response = start(api, template_id=2)
    assert (response.status_code, response.json()["error"]["code"]) == (400, "template_without_code")


def test_template_id_defaults_to_the_configured_template(api):
    with gateway(OTP_DEFAULT_TEMPLATE_ID=1):
        response = api.post("/verifications/", {"phone": "09121234567"}, format="json")
    assert response.status_code == 201
    assert response.json()["template_id"] == 1


def test_template_id_is_required_without_a_default(api):
    response = api.post("/verifications/", {"phone": "09121234567"}, format="json")
    assert (response.status_code, response.json()["error"]["code"]) == (400, "required")
    assert not Verification.objects.exists()


def test_start_refuses_a_foreign_number_like_any_invalid_number(api):
    foreign = start(api, "+971501234567").json()
    landline = start(api, "02112345678").json()
    assert foreign == landline
    assert foreign["error"]["code"] == "invalid_phone"
    AllowedRegion.objects.create(region="AE")
    with gateway():
        assert start(api, "+971501234567").status_code == 201


# --- Resend ---------------------------------------------------------------------------------------------


def test_starting_again_too_soon_is_429_with_retry_after(api, clock):
    started(api)
    clock.shift(20)
    response = start(api)
    assert response.status_code == 429
    assert response["Retry-After"] == "40"
    assert response.json()["error"]["code"] == "resend_too_soon"
    assert VerifyRequests.objects.count() == 1


def test_starting_again_after_the_interval_resends_the_same_code(api, clock):
    first, code = started(api)
    clock.shift(60)
    response = start(api)
    assert response.status_code == 200
    again = response.json()
    assert again["id"] == first["id"]
    assert again["send_count"] == 2
    assert again["send_request_id"] != first["send_request_id"]
    assert sent_code(again["send_request_id"]) == code
    assert again["expires_at"] == first["expires_at"]  # a resend does not extend the code's life


def test_at_most_five_sends_per_verification(api, clock):
    with gateway(RATE_LIMITS={}):
        started(api)
        for _ in range(4):
            clock.shift(60)
            assert start(api).status_code == 200
        clock.shift(60)
        response = start(api)
    assert response.status_code == 429
    assert response.json()["error"]["code"] == "max_sends_reached"
    assert response["Retry-After"] == str(600 - 5 * 60)
    assert Verification.objects.get().send_count == 5


def test_after_expiry_a_new_verification_with_a_new_code_starts(api, clock):
    first, _ = started(api)
    clock.shift(600)
    second, _ = started(api)
    assert second["id"] != first["id"]
    assert Verification.objects.get(id=first["id"]).status == "expired"


def test_the_phone_limit_applies_to_verifications(api, clock):
    for _ in range(3):
        data, _ = started(api)
        assert api.post(f"/verifications/{data['id']}/cancel/").status_code == 200
    response = start(api)
    assert response.status_code == 429
    assert response["Retry-After"] == "600"
    assert response.json()["error"]["code"] == "rate_limited"
    assert Verification.objects.count() == 3


def test_a_resend_counts_against_the_phone_limit(api, clock):
    with gateway(RATE_LIMITS={"phone": ["2/600"]}):
        started(api)
        clock.shift(60)
        assert start(api).status_code == 200
        clock.shift(60)
        response = start(api)
    assert (response.status_code, response.json()["error"]["code"]) == (429, "rate_limited")
    assert Verification.objects.get().send_count == 2


# --- Check ------------------------------------------------------------------------------------------------


def test_the_right_code_approves_once(api):
    data, code = started(api)
    response = check(api, data["id"], code)
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["attempts_left"]) == ("approved", 0)
    again = check(api, data["id"], code)
    assert (again.status_code, again.json()["error"]["code"]) == (409, "already_approved")
    assert api.get(f"/verifications/{data['id']}/").json()["status"] == "approved"
    assert Verification.objects.get().code_sealed == ""


def test_a_wrong_code_leaves_it_pending_with_one_attempt_less(api):
    data, code = started(api)
    wrong = "000000" if code != "000000" else "111111"
    response = check(api, data["id"], wrong)
    assert (response.json()["status"], response.json()["attempts_left"]) == ("pending", 4)


def test_five_wrong_codes_lock_it_even_for_the_right_code(api):
    data, code = started(api)
    wrong = "000000" if code != "000000" else "111111"
    statuses = [check(api, data["id"], wrong).json()["status"] for _ in range(5)]
    assert statuses == ["pending"] * 4 + ["max_attempts_reached"]
    response = check(api, data["id"], code)
    assert response.json() | {} and response.json()["status"] == "max_attempts_reached"
    assert Verification.objects.get().failed_checks == 5


def test_persian_and_arabic_indic_digits_are_accepted(api):
    data, code = started(api)
    persian = code.translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"))
    assert check(api, data["id"], persian).json()["status"] == "approved"
    other, other_code = started(api, "09121234568")
    arabic = other_code.translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))
    assert check(api, other["id"], arabic).json()["status"] == "approved"


def test_a_code_that_is_not_4_to_10_digits_is_a_400_and_costs_no_attempt(api):
    data, _ = started(api)
    response = check(api, data["id"], "12ab")
    assert (response.status_code, response.json()["error"]["code"]) == (400, "invalid_code")
    assert Verification.objects.get().failed_checks == 0


def test_the_code_expires_after_ten_minutes(api, clock):
    data, code = started(api)
    clock.shift(599)
    assert api.get(f"/verifications/{data['id']}/").json()["status"] == "pending"
    clock.shift(1)
    assert api.get(f"/verifications/{data['id']}/").json()["status"] == "expired"
    response = check(api, data["id"], code)
    assert (response.json()["status"], response.json()["attempts_left"]) == ("expired", 0)
    assert Verification.objects.get().status == "expired"


def test_a_code_is_valid_only_for_its_own_verification(api):
    first, first_code = started(api)
    second, second_code = started(api, "09121234568")
    if first_code != second_code:
        assert check(api, second["id"], first_code).json()["status"] == "pending"
    # Even the same digits hash differently per verification.
    assert Verification.objects.get(id=first["id"]).code_hash != Verification.objects.get(id=second["id"]).code_hash


def test_check_by_phone_uses_the_latest_verification(api):
    _, code = started(api)
    body = {"phone": "۰۹۱۲۱۲۳۴۵۶۷", "template_id": 1, "code": code}
    response = api.post("/verifications/check/", body, format="json")
    assert (response.status_code, response.json()["status"]) == (200, "approved")
    missing = api.post("/verifications/check/", {**body, "phone": "09121234599"}, format="json")
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "not_found")


# --- Cancel, status, isolation ------------------------------------------------------------------------------


def test_cancel_stops_the_code(api):
    data, code = started(api)
    assert api.post(f"/verifications/{data['id']}/cancel/").json()["status"] == "canceled"
    assert api.post(f"/verifications/{data['id']}/cancel/").status_code == 200  # twice is fine
    assert check(api, data["id"], code).json()["status"] == "canceled"


def test_cancel_of_an_approved_verification_is_409(api):
    data, code = started(api)
    check(api, data["id"], code)
    response = api.post(f"/verifications/{data['id']}/cancel/")
    assert (response.status_code, response.json()["error"]["code"]) == (409, "not_pending")


def test_clients_only_see_their_own_verifications(api):
    data, code = started(api)
    other = APIClient()
    other.credentials(HTTP_AUTHORIZATION=f"Token {client_create(name='other')[1]}")
    for response in (
        other.get(f"/verifications/{data['id']}/"),
        check(other, data["id"], code),
        other.post(f"/verifications/{data['id']}/cancel/"),
        other.post("/verifications/check/", {"phone": "09121234567", "template_id": 1, "code": code}, format="json"),
    ):
        assert (response.status_code, response.json()["error"]["code"]) == (404, "not_found")
    assert Verification.objects.get().status == "pending"
    assert api.get("/verifications/6f1c2b1e-8a43-4c1e-9d5e-2f0a7b3c9d10/").status_code == 404


def test_the_api_needs_a_client_key():
    assert APIClient().post("/verifications/", {"phone": "09121234567"}, format="json").status_code == 401


# --- Test numbers ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("source", ["settings", "admin"])
def test_a_test_number_never_reaches_a_provider_and_its_fixed_code_approves(api, source):
    if source == "admin":
        TestNumber.objects.create(phone="+989120000000", code="4242")
        context = gateway()
    else:
        context = gateway(TEST_NUMBERS={"09120000000": "4242"})
    with context:
        response = start(api, "09120000000")
        assert response.status_code == 201
        data = response.json()
        assert data["send_request_id"] is None
        assert not VerifyRequests.objects.exists()
        assert check(api, data["id"], "4243").json()["status"] == "pending"
        assert check(api, data["id"], "4242").json()["status"] == "approved"


def test_test_numbers_are_not_rate_limited(api, clock):
    with gateway(TEST_NUMBERS={"09120000000": "4242"}, RATE_LIMITS={"phone": ["1/600"]}):
        for _ in range(3):
            data = start(api, "09120000000").json()
            assert check(api, data["id"], "4242").json()["status"] == "approved"


# --- OpenAPI ----------------------------------------------------------------------------------------------------


def test_every_endpoint_is_in_the_schema_with_its_error_examples(client):
    schema = client.get("/schema/", HTTP_ACCEPT="application/json").json()
    paths = schema["paths"]
    for path in (
        "/verifications/",
        "/verifications/check/",
        "/verifications/{verification_id}/",
        "/verifications/{verification_id}/check/",
        "/verifications/{verification_id}/cancel/",
    ):
        assert path in paths
    start_responses = paths["/verifications/"]["post"]["responses"]
    examples_429 = start_responses["429"]["content"]["application/json"]["examples"]
    assert {"429ResendTooSoon", "429MaxSendsReached", "429RateLimited"} <= set(examples_429)
    assert "409" in paths["/verifications/{verification_id}/check/"]["post"]["responses"]


def test_status_shows_the_delivery_report_of_the_latest_send(api, clock):
    data, _ = started(api)
    assert api.get(f"/verifications/{data['id']}/").json()["delivery"] is None  # not sent yet

    VerifyRequests.objects.filter(id=data["send_request_id"]).update(
        flag=VerifyRequests.Flag.DONE, delivery_state=VerifyRequests.Delivery.DELIVERED, delivery_code="1"
    )

    delivery = api.get(f"/verifications/{data['id']}/").json()["delivery"]
    assert (delivery["state"], delivery["provider_code"]) == ("delivered", "1")
