"""Operator pages: engines with a write-only token, templates with mappings, read-only requests."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client as BrowserClient
from django.urls import reverse
from django.utils import timezone

from clients.services import client_create
from messaging.models import Attempt, Engine, VerifyRequests
from messaging.tests.factories import make_attempt, make_engine, make_mapping, make_request, make_template

Flag = VerifyRequests.Flag
SECRET = "provider-secret-token-value"


@pytest.fixture
def sender(db: Any) -> Any:
    return client_create(name="backend")[0]


@pytest.fixture
def engine(db: Any) -> Engine:
    return make_engine(name="smsir", provider_token=SECRET)


def admin_url(model: str, view: str, *args: Any) -> str:
    app = "clients" if model == "client" else "messaging"
    return reverse(f"admin:{app}_{model}_{view}", args=args)


def engine_form(engine: Engine, **changes: Any) -> dict[str, Any]:
    values = {
        "name": engine.name,
        "kind": engine.kind,
        "api_url": engine.api_url,
        "provider_token": "",
        "priority": engine.priority,
        "enabled": "on" if engine.enabled else "",
        "connect_timeout": engine.connect_timeout,
        "read_timeout": engine.read_timeout,
        "max_in_flight": engine.max_in_flight,
    }
    values.update(changes)
    return {key: value for key, value in values.items() if value != "" or key == "provider_token"}


@pytest.mark.parametrize("model", ["engine", "templates", "verifyrequests", "client"])
def test_admin_changelist_renders(admin_client: BrowserClient, engine: Engine, sender: Any, model: str) -> None:
    make_mapping(template=make_template(), engine=engine)
    make_request(sender)

    assert admin_client.get(admin_url(model, "changelist")).status_code == 200


def test_admin_request_changelist_filters_by_flag(admin_client: BrowserClient, sender: Any) -> None:
    make_request(sender)
    failed = make_request(sender, flag=Flag.FAILED)

    response = admin_client.get(admin_url("verifyrequests", "changelist"), {"flag__exact": "FAILED"})

    assert [row.pk for row in response.context["cl"].result_list] == [failed.pk]


def test_admin_engine_change_page_renders_without_the_provider_token(
    admin_client: BrowserClient, engine: Engine
) -> None:
    response = admin_client.get(admin_url("engine", "change", engine.pk))

    assert response.status_code == 200
    assert SECRET.encode() not in response.content


def test_admin_engine_changelist_never_shows_the_provider_token(admin_client: BrowserClient, engine: Engine) -> None:
    response = admin_client.get(admin_url("engine", "changelist"))

    assert response.status_code == 200
    assert SECRET.encode() not in response.content


def test_admin_engine_save_with_empty_token_keeps_the_old_token(admin_client: BrowserClient, engine: Engine) -> None:
    response = admin_client.post(admin_url("engine", "change", engine.pk), engine_form(engine, priority=77))

    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    engine.refresh_from_db()
    assert (engine.priority, engine.provider_token) == (77, SECRET)


def test_admin_engine_save_with_new_token_replaces_it(admin_client: BrowserClient, engine: Engine) -> None:
    response = admin_client.post(admin_url("engine", "change", engine.pk), engine_form(engine, provider_token="new"))

    assert response.status_code == 302
    engine.refresh_from_db()
    assert engine.provider_token == "new"


def test_admin_engine_add_requires_a_token(admin_client: BrowserClient, db: Any) -> None:
    unsaved = Engine(name="kavenegar", kind="kavenegar", api_url="http://127.0.0.1:8900/kavenegar")

    response = admin_client.post(admin_url("engine", "add"), engine_form(unsaved))

    assert response.status_code == 200
    assert "provider_token" in response.context["adminform"].form.errors
    assert not Engine.objects.filter(name="kavenegar").exists()


def test_admin_engine_add_page_renders(admin_client: BrowserClient, db: Any) -> None:
    assert admin_client.get(admin_url("engine", "add")).status_code == 200


def test_admin_template_change_page_shows_its_mappings_inline(admin_client: BrowserClient, engine: Engine) -> None:
    template = make_template()
    make_mapping(template=template, engine=engine, template_code="TPL-555")

    response = admin_client.get(admin_url("templates", "change", template.pk))

    assert response.status_code == 200
    assert b"TPL-555" in response.content
    for field in (b'name="routing"', b'name="rescue"', b'name="voice_rescue"', b'name="mappings-0-weight"'):
        assert field in response.content
    assert SECRET.encode() not in response.content


def test_admin_request_change_page_shows_attempts_inline(
    admin_client: BrowserClient, engine: Engine, sender: Any
) -> None:
    row = make_request(sender, flag=Flag.DONE, system=engine, tries=1)
    make_attempt(row, engine, error_message="distinctive-attempt-note", reason="adaptive: best for Irancell")

    response = admin_client.get(admin_url("verifyrequests", "change", row.pk))

    assert response.status_code == 200
    assert b"distinctive-attempt-note" in response.content
    assert b"adaptive: best for Irancell" in response.content
    assert row.token_value.encode() not in response.content


def test_admin_client_change_page_renders_without_key_hash(admin_client: BrowserClient, sender: Any) -> None:
    response = admin_client.get(admin_url("client", "change", sender.pk))

    assert response.status_code == 200
    assert response.content.count(sender.keys.get().prefix.encode()) >= 1
    assert sender.keys.get().key_hash.encode() not in response.content


@pytest.mark.parametrize(
    "term", ["09121234567", "+989121234567", "9121234567", "۰۹۱۲۱۲۳۴۵۶۷", "0912 123 4567", "00989121234567"]
)
def test_admin_request_search_finds_phone_in_any_accepted_form(
    admin_client: BrowserClient, sender: Any, term: str
) -> None:
    wanted = make_request(sender, phone="+989121234567")
    make_request(sender, phone="+989351234567")

    response = admin_client.get(admin_url("verifyrequests", "changelist"), {"q": term})

    assert response.status_code == 200
    assert [row.pk for row in response.context["cl"].result_list] == [wanted.pk]


def test_admin_request_changelist_masks_phones(sender: Any, admin_client: BrowserClient) -> None:
    make_request(sender, phone="+989121234567")

    # A superuser too: whole numbers only for someone given messaging.view_full_phone on purpose.
    for browser in (staff("messaging.view_verifyrequests"), admin_client):
        response = browser.get(admin_url("verifyrequests", "changelist"))
        assert b"0912***4567" in response.content
        assert b"9121234567" not in response.content


def test_whole_phones_through_a_group_with_the_permission(sender: Any) -> None:
    from django.contrib.auth.models import Group, Permission, User

    make_request(sender, phone="+989121234567")
    support = Group.objects.create(name="support")
    support.permissions.add(
        *Permission.objects.filter(
            codename__in=["view_verifyrequests", "view_full_phone"], content_type__app_label="messaging"
        )
    )
    user = User.objects.create_user("agent", is_staff=True)
    user.groups.add(support)
    browser = BrowserClient()
    browser.force_login(user)

    assert b"+989121234567" in browser.get(admin_url("verifyrequests", "changelist")).content


def test_admin_requeue_turns_failed_requests_pending_and_leaves_done_alone(
    admin_client: BrowserClient, sender: Any, django_capture_on_commit_callbacks: Any
) -> None:
    failed = make_request(sender, flag=Flag.FAILED, rounds=3, tries=6, last_error="all engines failed")
    done = make_request(sender, flag=Flag.DONE, rounds=1, tries=1)

    with django_capture_on_commit_callbacks():
        response = admin_client.post(
            admin_url("verifyrequests", "changelist"),
            {"action": "requeue", "_selected_action": [failed.pk, done.pk]},
        )

    assert response.status_code == 302
    failed.refresh_from_db()
    done.refresh_from_db()
    assert (failed.flag, failed.rounds, failed.completed_at) == (Flag.PENDING, 0, None)
    assert (done.flag, done.rounds) == (Flag.DONE, 1)


def test_admin_has_no_add_page_for_requests(admin_client: BrowserClient, db: Any) -> None:
    assert admin_client.get(admin_url("verifyrequests", "add")).status_code == 403


def test_admin_has_no_add_page_for_clients(admin_client: BrowserClient, db: Any) -> None:
    assert admin_client.get(admin_url("client", "add")).status_code == 403


def test_admin_cannot_delete_requests(admin_client: BrowserClient, sender: Any) -> None:
    row = make_request(sender)

    assert admin_client.get(admin_url("verifyrequests", "delete", row.pk)).status_code == 403
    assert VerifyRequests.objects.filter(pk=row.pk).exists()


def test_admin_request_changelist_shows_and_filters_the_delivery_state(
    admin_client: BrowserClient, sender: Any
) -> None:
    make_request(sender, flag=Flag.DONE, delivery_state=VerifyRequests.Delivery.DELIVERED, delivery_code="10")
    undelivered = make_request(
        sender, flag=Flag.DONE, delivery_state=VerifyRequests.Delivery.UNDELIVERED, delivery_code="11"
    )

    response = admin_client.get(admin_url("verifyrequests", "changelist"), {"delivery_state__exact": "undelivered"})

    assert [row.pk for row in response.context["cl"].result_list] == [undelivered.pk]
    assert "Undelivered" in response.content.decode()


def test_admin_engine_shows_credit_and_account_problems(admin_client: BrowserClient, engine: Engine) -> None:
    from django.utils import timezone

    Engine.objects.filter(id=engine.id).update(
        credit=1234, credit_read_at=timezone.now(), config_error_code="10", config_error_at=timezone.now()
    )

    listing = admin_client.get(admin_url("engine", "changelist")).content.decode()
    change = admin_client.get(admin_url("engine", "change", engine.id)).content.decode()

    assert "1,234.00, read " in listing
    assert "configuration error 10 since" in listing
    assert "Low credit threshold" in change and "Config error code" in change


def test_admin_engine_sets_a_low_credit_threshold(admin_client: BrowserClient, engine: Engine) -> None:
    response = admin_client.post(
        admin_url("engine", "change", engine.id), engine_form(engine, low_credit_threshold=500)
    )

    assert response.status_code == 302
    engine.refresh_from_db()
    assert engine.low_credit_threshold == 500


def staff(*permissions: str) -> BrowserClient:
    """A browser logged in as a staff user (not a superuser) with only ``permissions`` ("app.codename")."""
    from django.contrib.auth.models import Permission, User

    user = User.objects.create_user(f"staff-{len(permissions)}-{User.objects.count()}", is_staff=True)
    for name in permissions:
        app, codename = name.split(".")
        user.user_permissions.add(Permission.objects.get(content_type__app_label=app, codename=codename))
    browser = BrowserClient()
    browser.force_login(user)
    return browser


def test_admin_request_pages_mask_the_phone_for_staff_without_the_permission(sender: Any, engine: Engine) -> None:
    row = make_request(sender, phone="+989121234567", flag=Flag.DONE, system=engine, tries=1)
    make_attempt(row, engine)
    browser = staff("messaging.view_verifyrequests")

    for page in (admin_url("verifyrequests", "changelist"), admin_url("verifyrequests", "change", row.pk)):
        content = browser.get(page).content
        assert b"0912***4567" in content, page
        assert b"9121234567" not in content, page


def test_admin_request_pages_show_the_whole_phone_with_view_full_phone(sender: Any) -> None:
    row = make_request(sender, phone="+989121234567")
    browser = staff("messaging.view_verifyrequests", "messaging.view_full_phone")

    for page in (admin_url("verifyrequests", "changelist"), admin_url("verifyrequests", "change", row.pk)):
        assert b"+989121234567" in browser.get(page).content, page


@pytest.mark.parametrize("permissions", [("messaging.view_verifyrequests",), ("messaging.change_verifyrequests",)])
def test_admin_request_detail_page_is_read_only_without_save_buttons(sender: Any, permissions: tuple[str]) -> None:
    row = make_request(sender)

    response = staff(*permissions).get(admin_url("verifyrequests", "change", row.pk))

    assert response.status_code == 200
    assert b'name="_save"' not in response.content
    assert b'name="_continue"' not in response.content
    assert staff(*permissions).post(admin_url("verifyrequests", "change", row.pk), {}).status_code == 403


def test_admin_requeue_is_offered_to_staff_who_may_change_requests_only(sender: Any) -> None:
    make_request(sender, flag=Flag.FAILED)

    viewer = staff("messaging.view_verifyrequests").get(admin_url("verifyrequests", "changelist"))
    changer = staff("messaging.change_verifyrequests").get(admin_url("verifyrequests", "changelist"))

    assert b'value="requeue"' not in viewer.content
    assert b'value="requeue"' in changer.content


# --- The attempt list ----------------------------------------------------------------------------------


def test_attempt_list_filters_by_engine_outcome_error_code_and_date_and_masks_phones(
    admin_client: BrowserClient, engine: Engine, sender: Any
) -> None:
    other = make_engine(name="kavenegar", kind="kavenegar")
    request = make_request(sender, phone="+989121234567")
    sent = make_attempt(request, engine)
    failed = make_attempt(
        request, other, outcome=Attempt.Outcome.FAILED, error_code="http_503", error_message="no route to +989121234567"
    )
    url = admin_url("attempt", "changelist")

    def listed(**query: Any) -> set[int]:
        response = admin_client.get(url, query)
        assert response.status_code == 200
        rows = {row.id for row in response.context["cl"].result_list}
        page = response.content.decode()
        assert "+989121234567" not in page and ("0912***4567" in page) == bool(rows)
        return rows

    assert listed() == {sent.id, failed.id}
    assert listed(engine__id__exact=other.id) == {failed.id}
    assert listed(outcome__exact="sent") == {sent.id}
    assert listed(error_code="http_503") == {failed.id}
    today = timezone.localdate()
    assert listed(**{"created_at__year": today.year, "created_at__month": today.month}) == {sent.id, failed.id}
    assert listed(**{"created_at__year": today.year - 1}) == set()
    detail = admin_client.get(admin_url("attempt", "change", failed.id)).content.decode()
    assert "+989121234567" not in detail and "no route to 0912***4567" in detail


def test_admin_engine_changelist_shows_each_breakers_state_and_closes_it(
    admin_client: BrowserClient, engine: Engine
) -> None:
    from common.conf import gateway_settings
    from messaging import breaker

    threshold = gateway_settings()["BREAKER_THRESHOLD"]
    breaker.breaker_record(engine.id, healthy=False)
    assert "closed (1 consecutive failures)" in admin_client.get(admin_url("engine", "changelist")).content.decode()

    for _ in range(threshold - 1):
        breaker.breaker_record(engine.id, healthy=False)
    page = admin_client.get(admin_url("engine", "changelist")).content.decode()
    assert f"open ({threshold} consecutive failures)" in page

    admin_client.post(
        admin_url("engine", "changelist"), {"action": "reset_breaker", "_selected_action": [engine.pk]}, follow=True
    )
    assert "closed (0 consecutive failures)" in admin_client.get(admin_url("engine", "changelist")).content.decode()
    assert breaker.breaker_check(engine.id) == breaker.CLOSED


def test_rate_limits_added_and_edited_in_the_admin_apply_to_the_next_send(
    admin_client: BrowserClient, api: Any, engine: Engine
) -> None:
    from messaging.models import RateLimit

    make_template(template_id=1, token_names=["code"])
    body = {"phone": "09121234567", "template_id": 1, "token_value": {"code": "123456"}}

    def send() -> int:
        return int(api.post("/sendsms/", body, format="json").status_code)

    response = admin_client.post(
        admin_url("ratelimit", "add"), {"scope": "phone", "limit": 1, "period_seconds": 600, "enabled": "on"}
    )
    assert response.status_code == 302, response.content
    assert [send(), send()] == [202, 429]

    row = RateLimit.objects.get(scope="phone")
    response = admin_client.post(
        admin_url("ratelimit", "change", row.pk), {"scope": "phone", "limit": 4, "period_seconds": 600, "enabled": "on"}
    )
    assert response.status_code == 302, response.content
    # 4 a window now (the shipped default is 3), one of them already used.
    assert [send(), send(), send(), send()] == [202, 202, 202, 429]
