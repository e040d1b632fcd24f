"""The admin's provider-health page as the Django test client sees it: content, permission, the index link."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client as BrowserClient
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from clients.services import client_create
from messaging.models import Engine
from messaging.services.scores import Outcomes, scores_rebuild, scores_record
from messaging.tests.conftest import UNREACHABLE_CACHE
from messaging.tests.factories import make_attempt, make_engine, make_request
from verifications.models import Verification

NO_FIGURE = "\N{EN DASH}"  # what the page shows where there is no figure


@pytest.fixture
def sender(db: Any) -> Any:
    return client_create(name="backend")[0]


@pytest.fixture
def engine(db: Any) -> Engine:
    return make_engine(name="smsir")


def make_verification(sender: Any, **fields: Any) -> Verification:
    values: dict[str, Any] = {"phone": "+989121234567", "code_hash": "x" * 64}
    values.update(fields)
    return Verification.objects.create(client=sender, expires_at=timezone.now() + timedelta(minutes=2), **values)


def test_provider_health_page_shows_engines_charts_operators_and_conversion(
    admin_client: BrowserClient, engine: Engine, sender: Any
) -> None:
    request = make_request(sender, phone="+989351234567", operator="Irancell")
    make_attempt(request, engine, latency_ms=120)
    make_verification(sender, template=request.template, status="approved")

    response = admin_client.get(reverse("provider-health"))

    page = response.content.decode()
    assert response.status_code == 200
    assert 'data-engine="smsir"' in page and "Irancell" in page and "100 %" in page
    charts = page.split('<svg class="line-chart"')[1:]
    assert len(charts) == 3
    sent, failed, latency = ([int(value) for value in re.findall(r'data-value="(\d+)"', chart)] for chart in charts)
    assert (max(sent), sum(sent), max(failed)) == (1, 1, 0)
    assert [value for value in latency if value] and 100 <= max(latency) <= 150  # p95 inside 120's bucket
    assert "1: template 1" in page  # conversion row of template 1


def routing_rows(page: str) -> dict[tuple[str, str], list[str]]:
    """The routing table's cells by (operator, engine), tags and spaces stripped."""
    table = page.split('<table id="routing">')[1].split("</table>")[0]
    rows = re.findall(r'<tr data-operator="([^"]*)" data-engine="([^"]*)">(.*?)</tr>', table, re.S)
    return {
        (operator, engine): [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td.*?</td>", cells, re.S)]
        for operator, engine, cells in rows
    }


def test_routing_scores_show_each_engines_score_and_share_of_the_operators_messages(
    admin_client: BrowserClient, engine: Engine, sender: Any
) -> None:
    kavenegar = make_engine(name="kavenegar", kind="kavenegar")
    for carrier in (engine, engine, kavenegar):
        make_attempt(make_request(sender, phone="+989351234567", operator="Irancell"), carrier)
    scores_rebuild()
    learned = Outcomes()
    for state in ("delivered", "delivered", "delivered", "delivered", "undelivered"):
        learned.report(engine.id, "Irancell", state)
    for approved in (True, True, True, False):
        learned.code_sent(engine.id, "Irancell")
        if approved:
            learned.code_approved(engine.id, "Irancell")
    scores_record(learned)

    response = admin_client.get(reverse("provider-health"))

    rows = routing_rows(response.content.decode())
    # Score (4 + 0.9 * 5) / (5 + 5); 4 of 5 delivered; 3 of 4 codes approved; 5 outcomes; 2 of 3 messages.
    assert rows["Irancell", "smsir"] == ["Irancell", "smsir", "0.85", "80 %", "75 %", "5", "67 % of 3"]
    assert rows["Irancell", "kavenegar"] == ["Irancell", "kavenegar", *[NO_FIGURE] * 4, "33 % of 3"]
    assert "Routing scores unavailable" not in response.content.decode()


def test_provider_health_page_answers_without_the_cache_and_says_the_scores_are_unavailable(
    admin_client: BrowserClient, engine: Engine, sender: Any
) -> None:
    make_attempt(make_request(sender, phone="+989351234567", operator="Irancell"), engine)

    with override_settings(CACHES=UNREACHABLE_CACHE):
        response = admin_client.get(reverse("provider-health"))

    page = response.content.decode()
    assert response.status_code == 200
    assert "Routing scores unavailable" in page
    assert routing_rows(page)["Irancell", "smsir"][2:] == [*[NO_FIGURE] * 4, "100 % of 1"]
    assert "unknown (cache unreadable)" in page


def test_provider_health_page_needs_staff_and_its_permission(db: Any, engine: Engine) -> None:
    user = User.objects.create_user("operator", password="pw", is_staff=True)
    browser = BrowserClient()
    url = reverse("provider-health")

    assert BrowserClient().get(url).status_code == 302  # to the admin login
    browser.force_login(user)
    assert browser.get(url).status_code == 403
    assert "Provider health" not in browser.get(reverse("admin:index")).content.decode()
    user.user_permissions.add(Permission.objects.get(codename="view_provider_health"))
    browser.force_login(User.objects.get(id=user.id))
    assert browser.get(url).status_code == 200
    assert f'href="{url}"' in browser.get(reverse("admin:index")).content.decode()
