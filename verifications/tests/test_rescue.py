"""Rescue of verification codes, in-process: the dispatcher and the report poller talk to the provider simulator over
HTTP, whose per-prefix delivery rules decide what reaches the handset."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from bench.routing import deliver, handset_codes
from messaging.models import Attempt, Templates, VerifyRequests
from messaging.services.config import providers_load
from messaging.tests.conftest import gateway_config
from verifications.models import Verification
from verifications.rescue import verifications_rescue
from verifications.services import verification_cancel, verification_check, verification_start
from verifications.tests.conftest import gateway

pytestmark = pytest.mark.django_db
PHONE = "+989121234567"


@pytest.fixture
def live(sim: Any, db: Any) -> Any:
    providers_load(data=gateway_config(sim.url))
    Templates.objects.filter(template_id=1).update(rescue=True)
    with gateway(REPORTS_FIRST_POLL_SECONDS=0.0):
        yield sim


def undelivered(sim: Any, provider: str, *, prefix: str = "0912", **rule: Any) -> None:
    sim.call("POST", "/_sim/delivery", {"provider": provider, "prefix": prefix, "undelivered_share": 1, **rule})


def started(client: Any) -> Verification:
    verification = verification_start(client=client, phone=PHONE, template_id=1, ip="127.0.0.1").verification
    assert verification.send_request_id is not None
    deliver([verification.send_request_id])
    verification.refresh_from_db()
    return verification


def rescue_sent(verification: Verification, **kwargs: Any) -> VerifyRequests:
    assert verifications_rescue(**kwargs) == 1
    verification.refresh_from_db()
    assert verification.send_request_id is not None
    deliver([verification.send_request_id])
    return VerifyRequests.objects.get(id=verification.send_request_id)


def attempts(request: VerifyRequests) -> list[tuple[str, str, str, str]]:
    rows = Attempt.objects.filter(request=request).select_related("engine").order_by("id")
    return [(row.engine.name, row.channel, row.outcome, row.reason) for row in rows]


def test_an_undelivered_code_goes_again_through_the_next_engine_and_the_answer_says_which_carried_it(
    live, api, api_client_key
):
    undelivered(live, "smsir")
    verification = started(api.gateway_client)
    first = verification.send_request
    assert first is not None and first.delivery_state == VerifyRequests.Delivery.UNDELIVERED

    rescue = rescue_sent(verification)

    verification.refresh_from_db()
    assert (verification.rescues, verification.send_count, rescue.rescue_of_id) == (1, 2, first.id)
    [(engine, channel, outcome, reason)] = attempts(rescue)
    assert (engine, channel, outcome) == ("kavenegar", "sms", Attempt.Outcome.SENT)
    assert reason == "priority: rescue of a code that did not arrive; priority order"
    assert rescue.delivery_state == VerifyRequests.Delivery.DELIVERED

    code = handset_codes(live)[PHONE]
    response = api.post(f"/verifications/{verification.id}/check/", {"code": code}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["status"], body["rescues"]) == ("approved", 1)
    assert body["carried_by"] == {"send_request_id": rescue.id, "engine": "kavenegar", "channel": "sms", "rescue": True}


def test_a_code_not_reported_delivered_in_time_is_rescued_then_read_out_in_a_call(live, api_client_key):
    Templates.objects.filter(template_id=1).update(voice_rescue=True)
    live.call("POST", "/_sim/delivery", {"provider": "smsir", "prefix": "0912", "delay_ms": 3_600_000})
    verification = started(api_client_key[0])
    assert verification.send_request is not None
    assert verification.send_request.delivery_state == VerifyRequests.Delivery.PENDING

    soon = timezone.now() + timedelta(seconds=10)
    assert verifications_rescue(now=soon) == 0  # not yet late
    undelivered(live, "kavenegar")
    rescue = rescue_sent(verification, now=timezone.now() + timedelta(seconds=31))
    assert (rescue.channel, rescue.delivery_state) == ("sms", VerifyRequests.Delivery.UNDELIVERED)

    call = rescue_sent(verification)

    assert call.channel == VerifyRequests.Channel.CALL
    [(engine, channel, outcome, reason)] = attempts(call)
    assert (engine, channel, outcome) == ("kavenegar", "call", Attempt.Outcome.SENT)
    assert reason.startswith("priority: voice call; rescue of a code")
    [record] = [item for item in live.call("GET", "/_sim/received")["requests"] if item["channel"] == "call"]
    assert record["mobile"] == PHONE
    assert verifications_rescue() == 0  # one SMS, one call: nothing more


def test_a_call_the_provider_refuses_goes_by_sms_through_the_same_engine(live, api_client_key):
    Templates.objects.filter(template_id=1).update(voice_rescue=True)
    undelivered(live, "smsir")
    live.call(
        "POST", "/_sim/delivery", {"provider": "kavenegar", "prefix": "0912", "channel": "call", "callable": False}
    )
    verification = started(api_client_key[0])
    undelivered(live, "kavenegar")
    rescue_sent(verification)
    undelivered(live, "kavenegar", undelivered_share=0)

    call = rescue_sent(verification)

    refused, texted = attempts(call)
    assert refused[:3] == ("kavenegar", "call", Attempt.Outcome.FAILED)
    assert texted == ("kavenegar", "sms", Attempt.Outcome.SENT, "call refused by the provider, SMS instead")
    assert Attempt.objects.get(request=call, channel="call").error_code == "428"


@pytest.mark.parametrize("ending", ["approved", "canceled", "expired", "send limit", "rescue off", "test number"])
def test_no_rescue_once_the_verification_ended_or_past_its_send_limit(live, api_client_key, ending):
    undelivered(live, "smsir")
    now = timezone.now()
    with gateway(TEST_NUMBERS={PHONE: "123456"} if ending == "test number" else {}):
        verification = verification_start(
            client=api_client_key[0], phone=PHONE, template_id=1, ip="127.0.0.1"
        ).verification
    if verification.send_request_id is not None:
        deliver([verification.send_request_id])
    if ending == "approved":
        [record] = live.call("GET", "/_sim/received")["requests"]
        verification_check(verification=verification, code=record["params"]["CODE"])
    elif ending == "canceled":
        verification_cancel(verification=verification)
    elif ending == "expired":
        now = verification.expires_at + timedelta(seconds=1)
    elif ending == "rescue off":
        Templates.objects.filter(template_id=1).update(rescue=False)

    with gateway(OTP_MAX_SENDS=1 if ending == "send limit" else 5):
        assert verifications_rescue(now=now) == 0
    assert VerifyRequests.objects.filter(rescue_of__isnull=False).count() == 0
