"""Both ways into POST /sendsms/ (the fast path and the DRF view) store one spelling per number and count every
spelling of it on one set of rate-limit counters."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import time_machine
from django.core.cache import cache
from django.db import IntegrityError, transaction
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from common.api import PHONE_MAX_LENGTH
from common.tests.test_phone_spellings import national_numbers, spellings
from conftest import GatewayAPIClient
from messaging.api import accept
from messaging.models import RateLimit, VerifyRequests
from messaging.services.limits import counter_keys, number_prefix
from messaging.tests.factories import make_request, make_template
from messaging.tests.test_limits import START, limits

BODY = {"template_id": 1, "token_value": {"code": "123456"}}


@pytest.fixture
def template(db: Any) -> Any:
    return make_template(template_id=1, token_names=["code"])


@pytest.fixture
def clock() -> Any:
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


@pytest.fixture
def paths(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Which path answered each POST: "fast" or "drf"."""
    answered: list[str] = []
    real = accept.fast_accept

    def spy(request: Any) -> Any:
        response = real(request)
        answered.append("drf" if response is None else "fast")
        return response

    monkeypatch.setattr(accept, "fast_accept", spy)
    return answered


def send(api: GatewayAPIClient, phone: str, *, drf: bool = False) -> Any:
    # An Idempotency-Key is one of the things the fast path leaves to the DRF view.
    extra: dict[str, Any] = {"HTTP_IDEMPOTENCY_KEY": uuid.uuid4().hex} if drf else {}
    return api.post("/sendsms/", {**BODY, "phone": phone}, format="json", **extra)


def counts(scope: str, identity: str) -> list[int | None]:
    keys = counter_keys(scope=scope, identity=identity, now=START.timestamp())
    return [cache.get(key) for key in keys[1::2]]  # each window's current counter


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), national=national_numbers())
def test_two_spellings_on_both_paths_are_one_stored_phone_and_one_set_of_counters(
    api: GatewayAPIClient, template: Any, paths: list[str], data: st.DataObject, national: str
) -> None:
    cache.clear()
    paths.clear()
    e164 = "+98" + national
    first, second = data.draw(spellings("0" + national)), data.draw(spellings("+98" + national))
    assume(len(first) <= PHONE_MAX_LENGTH and len(second) <= PHONE_MAX_LENGTH)  # longer: the test below

    with limits(phone=["5/600", "10/86400"], prefix=["50/3600"]), time_machine.travel(START, tick=False):
        answers = [send(api, first), send(api, second, drf=True)]

        assert [answer.status_code for answer in answers] == [202, 202], [answer.content for answer in answers]
        assert paths == ["fast", "drf"]
        stored = VerifyRequests.objects.filter(id__in=[answer.json()["id"] for answer in answers])
        assert {row.phone for row in stored} == {answer.json()["phone"] for answer in answers} == {e164}
        assert counts("phone", e164) == [2, 2]
        assert counts("prefix", number_prefix(e164)) == [2]


def test_a_spelling_longer_than_the_api_takes_is_an_invalid_phone_on_both_paths(
    api: GatewayAPIClient, template: Any
) -> None:
    spelled = "\u200f\u200e\u200f".join("09121234567")  # a number, with bidi marks between its digits
    assert len(spelled) > PHONE_MAX_LENGTH

    for answer in (send(api, spelled), send(api, spelled, drf=True)):
        assert answer.status_code == 400
        assert answer.json()["error"]["fields"]["phone"][0]["code"] == "invalid_phone"
    assert not VerifyRequests.objects.exists()


def test_a_number_spelled_four_ways_is_limited_as_one_number(api: GatewayAPIClient, template: Any, clock: Any) -> None:
    RateLimit.objects.create(scope="phone", limit=3, period_seconds=600)
    spelled = ["09121234567", "\u06f0\u06f9\u06f1\u06f21234567", "0912123456\uff17", "\u200f0912-123-456\u0ced"]

    answers = [send(api, spelled[0]), send(api, spelled[1], drf=True), send(api, spelled[2]), send(api, spelled[3])]

    assert [answer.status_code for answer in answers] == [202, 202, 202, 429]
    assert set(VerifyRequests.objects.values_list("phone", flat=True)) == {"+989121234567"}


def test_the_database_refuses_a_phone_that_is_not_ascii_e164(api: GatewayAPIClient, template: Any) -> None:
    for phone in ("+98912111000\uff12", "09121110002", "+98 9121110002", ""):
        with pytest.raises(IntegrityError), transaction.atomic():
            make_request(api.gateway_client, phone=phone)
