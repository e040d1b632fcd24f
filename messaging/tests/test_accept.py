"""The fast path of POST /sendsms/ (messaging.api.accept) answers exactly as the DRF view does, or leaves it to it."""

from __future__ import annotations

import json
import random
import re
from datetime import timedelta
from typing import Any

import phonenumbers
import pytest
import time_machine
from django.db import OperationalError
from django.utils import timezone
from rest_framework.renderers import JSONRenderer

from clients.services import client_key_create, client_key_revoke
from common.phones import InvalidPhone, e164_parts, normalize_phone
from conftest import GatewayAPIClient
from messaging.api import accept
from messaging.api.serializers import SendRequestSerializer
from messaging.models import VerifyRequests
from messaging.tests.factories import make_template
from messaging.tests.test_limits import START, limits

VALID = {"phone": "09121234567", "template_id": 1, "token_value": {"code": "123456"}}
# Parts of an answer that differ between two requests by design.
_OWN = {"id", "created_at", "updated_at"}


@pytest.fixture
def template(db: Any) -> Any:
    return make_template(template_id=1, token_names=["code"])


@pytest.fixture
def fast_calls(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Records, per POST, whether the fast path answered (True) or left it to the DRF view (False)."""
    calls: list[bool] = []
    real = accept.fast_accept

    def spy(request: Any) -> Any:
        response = real(request)
        calls.append(response is not None)
        return response

    monkeypatch.setattr(accept, "fast_accept", spy)
    return calls


def answer(response: Any) -> tuple[int, dict[str, Any], dict[str, str]]:
    body = {key: value for key, value in response.json().items() if key not in _OWN}
    headers = {name: response.headers.get(name) for name in ("Content-Type", "Allow", "Retry-After", "Vary")}
    location = response.headers.get("Location")
    headers["Location"] = re.sub(r"/\d+/$", "/<id>/", location) if location else None
    return response.status_code, body, headers


def both_paths(api: GatewayAPIClient, monkeypatch: pytest.MonkeyPatch, body: Any, **extra: Any) -> tuple[Any, Any]:
    fast = api.post("/sendsms/", body, format="json", **extra)
    with monkeypatch.context() as patch:
        patch.setattr(accept, "fast_accept", lambda request: None)
        drf = api.post("/sendsms/", {**body, "phone": "09121234568"}, format="json", **extra)
    return fast, drf


@pytest.mark.parametrize(
    "body",
    [
        VALID,
        {"phone": "+98 912 123 4567", "template_id": 1, "token_value": ["123456"]},
        {"phone": " ۰۹۱۲۱۲۳۴۵۶۷ ", "template_id": 1, "token_value": {"code": 123456}},
    ],
)
def test_fast_path_answers_a_valid_request_exactly_as_the_drf_view(
    api: GatewayAPIClient, template: Any, fast_calls: list[bool], monkeypatch: pytest.MonkeyPatch, body: Any
) -> None:
    fast, drf = both_paths(api, monkeypatch, body)

    assert fast_calls == [True]
    assert fast.status_code == 202
    fast_status, fast_body, fast_headers = answer(fast)
    drf_status, drf_body, drf_headers = answer(drf)
    assert (fast_body.pop("phone"), drf_body.pop("phone")) == ("+989121234567", "+989121234568")
    assert (fast_status, fast_body, fast_headers) == (drf_status, drf_body, drf_headers)
    stored = VerifyRequests.objects.get(id=fast.json()["id"])
    assert (stored.phone, stored.flag, stored.template_id) == ("+989121234567", "PENDING", 1)


def test_both_paths_store_the_operator_of_the_number(
    api: GatewayAPIClient, template: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    fast, drf = both_paths(api, monkeypatch, {**VALID, "phone": "09351234567"})  # the DRF one sends 0912...

    operators = dict(
        VerifyRequests.objects.filter(id__in=[fast.json()["id"], drf.json()["id"]]).values_list("phone", "operator")
    )
    assert operators == {"+989351234567": "Irancell", "+989121234568": "IR-MCI"}


@pytest.mark.parametrize("microsecond", [0, 1, 123456])
def test_fast_path_body_is_the_serializers_bytes(api: GatewayAPIClient, template: Any, microsecond: int) -> None:
    # Dates with and without a fraction of a second, and a phone written in Persian digits.
    with time_machine.travel(START.replace(microsecond=microsecond), tick=False):
        fast = api.post("/sendsms/", {**VALID, "phone": "۰۹۱۲۱۲۳۴۵۶۷"}, format="json")
    stored = VerifyRequests.objects.get(id=fast.json()["id"])

    assert fast.status_code == 202
    assert fast.content == JSONRenderer().render(SendRequestSerializer(stored).data)
    assert fast.json()["created_at"].endswith("Z")


@pytest.mark.parametrize(
    ("body", "extra", "expected"),
    [
        (VALID, {"HTTP_IDEMPOTENCY_KEY": "k-1"}, (202, None)),  # stored answers are the idempotency layer's
        (VALID, {"HTTP_ACCEPT": "text/html"}, (406, "not_acceptable")),
        (VALID, {"HTTP_AUTHORIZATION": "Token not-a-key"}, (401, "invalid_token")),
        (VALID, {"HTTP_AUTHORIZATION": "Bearer x"}, (401, "not_authenticated")),
        ({**VALID, "extra": 1}, {}, (400, "unexpected_field")),
        ({**VALID, "template_id": "1"}, {}, (202, None)),  # a numeric string: DRF's IntegerField decides
        ({**VALID, "template_id": True}, {}, (400, "invalid")),
        ({**VALID, "template_id": 0}, {}, (400, "min_value")),
        ({**VALID, "template_id": 99}, {}, (400, "unknown_template")),  # unknown template
        ({**VALID, "phone": 9121234567}, {}, (400, "invalid_phone")),  # a number, not text,
        ({**VALID, "phone": "02112345678"}, {}, (400, "invalid_phone")),  # a landline
        ({**VALID, "phone": ""}, {}, (400, "blank")),
        ({**VALID, "token_value": "123456"}, {}, (400, "invalid_type")),
        ({**VALID, "token_value": {"pin": "1"}}, {}, (400, "unknown_token")),
        ({**VALID, "token_value": ["1", "2"]}, {}, (400, "token_count_mismatch")),
        ({**VALID, "token_value": {"code": "a b"}}, {}, (400, "token_invalid_characters")),
        ({"phone": "09121234567", "template_id": 1}, {}, (400, "required")),
    ],
)
def test_fast_path_leaves_everything_else_to_the_drf_view(
    api: GatewayAPIClient,
    template: Any,
    fast_calls: list[bool],
    monkeypatch: pytest.MonkeyPatch,
    body: Any,
    extra: dict[str, Any],
    expected: tuple[int, str | None],
) -> None:
    """Through the middleware, the fast path decides first: it must leave each of these (its real decision is
    recorded), and the answer must be the DRF view's own, status and error code, as without the fast path."""
    if "HTTP_AUTHORIZATION" in extra:  # the client's own credentials win over a request's extra headers
        api.credentials(**extra)
        extra = {}
    through_fast_path = api.post("/sendsms/", body, format="json", **extra)
    with monkeypatch.context() as patch:
        patch.setattr(accept, "fast_accept", lambda request: None)
        drf_only = api.post("/sendsms/", body, format="json", **extra)

    assert fast_calls == [False]
    assert outcome(through_fast_path) == expected
    assert outcome(drf_only) == expected  # with Idempotency-Key, the second is a replay of the first
    assert answer(through_fast_path) == answer(drf_only)


def outcome(response: Any) -> tuple[int, str | None]:
    error = response.json().get("error") if response.status_code >= 400 else None
    return response.status_code, error["code"] if error else None


def _key_of_kind(client: Any, kind: str) -> str:
    scopes = ["read", "verify"] if kind == "without_send" else ["sms:send"]
    expires_at = timezone.now() - timedelta(seconds=1) if kind == "expired" else None
    key, secret = client_key_create(client=client, name=kind, scopes=scopes, expires_at=expires_at)
    if kind == "revoked":
        client_key_revoke(key=key)
    if kind == "inactive_client":
        client.is_active = False
        client.save()
    return secret


@pytest.mark.parametrize(
    ("kind", "status", "code"),
    [
        ("send_only", 202, None),
        ("without_send", 403, "insufficient_scope"),
        ("expired", 401, "invalid_token"),
        ("revoked", 401, "invalid_token"),
        ("inactive_client", 401, "invalid_token"),
    ],
)
def test_both_paths_decide_a_keys_access_alike(
    api: GatewayAPIClient,
    template: Any,
    fast_calls: list[bool],
    monkeypatch: pytest.MonkeyPatch,
    kind: str,
    status: int,
    code: str | None,
) -> None:
    api.credentials(HTTP_AUTHORIZATION=f"Token {_key_of_kind(api.gateway_client, kind)}")

    fast, drf = both_paths(api, monkeypatch, VALID)

    assert fast_calls == [status == 202]  # the fast path accepts, or leaves the refusal to the DRF view
    fast_status, fast_body, fast_headers = answer(fast)
    drf_status, drf_body, drf_headers = answer(drf)
    if status == 202:
        assert (fast_body.pop("phone"), drf_body.pop("phone")) == ("+989121234567", "+989121234568")
    else:
        assert fast_body["error"]["code"] == code
    assert fast_status == status
    assert (fast_status, fast_body, fast_headers) == (drf_status, drf_body, drf_headers)


def test_fast_path_leaves_other_bodies_to_the_drf_view(
    api: GatewayAPIClient, template: Any, fast_calls: list[bool]
) -> None:
    answers = [
        api.post("/sendsms/", b'{"phone": "09121234567",', content_type="application/json"),
        api.post("/sendsms/", b'["09121234567"]', content_type="application/json"),
        api.post("/sendsms/", b"\xff\xfe{}", content_type="application/json"),
        api.post("/sendsms/", json.dumps(VALID), content_type="application/json; charset=utf-8"),
        api.post("/sendsms/", "phone=09121234567", content_type="application/x-www-form-urlencoded"),
    ]

    assert fast_calls == [False] * 5
    assert [response.status_code for response in answers] == [400, 400, 400, 202, 415]
    assert answers[0].json()["error"]["code"] == "malformed_json"


def test_refusal_after_counting_is_answered_by_the_fast_path_as_the_drf_view(
    api: GatewayAPIClient, template: Any, fast_calls: list[bool], monkeypatch: pytest.MonkeyPatch
) -> None:
    with limits(phone=["1/600"]), time_machine.travel(START, tick=False):
        assert api.post("/sendsms/", VALID, format="json").status_code == 202
        fast = api.post("/sendsms/", VALID, format="json")
        with monkeypatch.context() as patch:
            patch.setattr(accept, "fast_accept", lambda request: None)
            drf = api.post("/sendsms/", VALID, format="json")

    assert fast_calls == [True, True]
    assert fast.status_code == 429
    assert answer(fast) == answer(drf)


def test_database_failure_after_counting_is_a_503_and_counts_once(
    api: GatewayAPIClient, template: Any, fast_calls: list[bool], monkeypatch: pytest.MonkeyPatch
) -> None:
    admitted: list[str] = []
    real_admit = accept.send_admit

    def counting_admit(**kwargs: Any) -> None:
        admitted.append(kwargs["phone"])
        real_admit(**kwargs)

    def broken(**kwargs: Any) -> Any:
        raise OperationalError("connection refused")

    monkeypatch.setattr(accept, "send_admit", counting_admit)
    monkeypatch.setattr(accept, "request_create", broken)
    fast = api.post("/sendsms/", VALID, format="json")
    monkeypatch.setattr("messaging.api.views.request_create", broken)
    with monkeypatch.context() as patch:
        patch.setattr(accept, "fast_accept", lambda request: None)
        drf = api.post("/sendsms/", VALID, format="json")

    assert fast_calls == [True]
    assert admitted == ["+989121234567"]  # the DRF view was not asked to count it again
    assert fast.status_code == 503
    assert answer(fast) == answer(drf)
    assert not VerifyRequests.objects.exists()


def test_an_error_no_handler_knows_propagates(
    api: GatewayAPIClient, template: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(**kwargs: Any) -> Any:
        raise RuntimeError("bug")

    monkeypatch.setattr(accept, "request_create", broken)
    with pytest.raises(RuntimeError, match="bug"):
        api.post("/sendsms/", VALID, format="json")


def test_schema_still_documents_the_drf_view(api: GatewayAPIClient) -> None:
    schema = api.get("/schema/?format=json").json()

    assert schema["paths"]["/sendsms/"]["post"]["operationId"] == "sendsms_create"


# --- The phone shortcut ----------------------------------------------------------------------------


def _slow_normalize(text: str, regions: tuple[str, ...]) -> str:
    """normalize_phone without its shortcut for Iranian mobiles: phonenumbers decides everything."""
    if text.startswith("00"):
        text = "+" + text[2:]
    elif text.startswith("98") and len(text) == 12:
        text = "+" + text
    try:
        number = phonenumbers.parse(text, "IR")
    except phonenumbers.NumberParseException:
        return "invalid"
    mobile = phonenumbers.number_type(number) in {
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    }
    region = phonenumbers.region_code_for_number(number)
    if region not in regions or not phonenumbers.is_valid_number(number) or not mobile:
        return "invalid"
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _fast_normalize(text: str, regions: tuple[str, ...]) -> str:
    try:
        return normalize_phone(text, allowed_regions=regions)
    except InvalidPhone:
        return "invalid"


def test_iranian_mobile_shortcut_agrees_with_phonenumbers_on_every_9xx_range() -> None:
    rng = random.Random(7)
    for prefix in range(900, 1000):
        for _ in range(5):
            national = f"{prefix}{rng.randrange(10**7):07d}"
            for text in (national, "0" + national, "+98" + national, "0098" + national, "98" + national):
                for regions in (("IR",), ("US",)):
                    assert _fast_normalize(text, regions) == _slow_normalize(text, regions), (text, regions)


def test_e164_parts_of_an_iranian_number_match_phonenumbers() -> None:
    for e164 in ("+989121234567", "+989981234567"):
        number = phonenumbers.parse(e164)
        assert e164_parts(e164) == ("IR", 98, str(number.national_number))
    assert e164_parts("+14155550123") == ("US", 1, "4155550123")


def test_database_failure_while_checking_is_the_same_503_as_the_drf_view(
    api: GatewayAPIClient, template: Any, fast_calls: list[bool], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(**kwargs: Any) -> Any:
        raise OperationalError("connection refused")

    monkeypatch.setattr(accept, "key_access", broken)
    monkeypatch.setattr("clients.authentication.key_access", broken)
    fast = api.post("/sendsms/", VALID, format="json")
    with monkeypatch.context() as patch:
        patch.setattr(accept, "fast_accept", lambda request: None)
        drf = api.post("/sendsms/", VALID, format="json")

    assert fast_calls == [True]
    assert fast.status_code == 503
    assert answer(fast) == answer(drf)
