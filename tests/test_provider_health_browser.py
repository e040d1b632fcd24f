"""The provider-health page as a person sees it: the gateway under gunicorn, the admin login, a real
headless Chromium (Debian's chromium and chromium-driver), charts drawn with the day's data.

The screenshot is kept at data/provider-health.png.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from clients.services import client_create
from messaging.models import Attempt, Engine, VerifyRequests
from messaging.services.scores import scores_rebuild
from messaging.tests.factories import make_attempt, make_engine, make_request, make_template
from tests.processes import ROOT, WebServer

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.servers]
SCREENSHOT = ROOT / "data" / "provider-health.png"
PHONES = {"IR-MCI": "+989121234567", "Irancell": "+989351234567", "Rightel": "+989211234567"}


@pytest.fixture
def traffic(transactional_db: Any) -> list[Engine]:
    """A day of calls at two engines: a few each hour, slower and failing more at one of them."""
    sender = client_create(name="backend")[0]
    template = make_template()
    engines = [make_engine(name="smsir"), make_engine(name="kavenegar", kind="kavenegar")]
    now = timezone.now()
    for hour in range(0, 24, 2):
        for index, (operator, phone) in enumerate(PHONES.items()):
            at = now - timedelta(hours=hour, minutes=index)
            request = make_request(sender, template=template, phone=phone, operator=operator, created_at=at)
            for engine in engines:
                failed = engine.name == "kavenegar" and (hour + index) % 3 == 0
                make_attempt(
                    request,
                    engine,
                    created_at=at,
                    latency_ms=40 + 10 * hour if engine.name == "smsir" else 300 + 25 * hour,
                    outcome=Attempt.Outcome.FAILED if failed else Attempt.Outcome.SENT,
                    error_code="http_503" if failed else "",
                )
    # SMS.IR sent every request; its reports: Rightel's numbers undelivered, the others delivered.
    done = VerifyRequests.objects.filter(created_at__gte=now - timedelta(days=1))
    done.update(flag="DONE", system=engines[0], delivery_state="delivered", completed_at=now)
    done.filter(operator="Rightel").update(delivery_state="undelivered")
    scores_rebuild(now=now)  # the routing scores, as the poller would rebuild them after a cache flush
    Engine.objects.filter(name="smsir").update(credit=Decimal("1234.50"), credit_read_at=now)
    User.objects.create_superuser("ops", password="a-long-test-password")
    return engines


@pytest.fixture
def gateway(worker_env: dict[str, str], traffic: list[Engine]) -> Iterator[WebServer]:
    server = WebServer({**worker_env, "TIME_ZONE": "Asia/Tehran"}, "gunicorn")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def chromium() -> Iterator[webdriver.Chrome]:
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,2600"):
        options.add_argument(argument)
    # Debian's driver, named: selenium looks for (downloads) nothing.
    browser = webdriver.Chrome(options=options, service=Service("/usr/bin/chromedriver"))
    browser.set_page_load_timeout(60)
    yield browser
    browser.quit()


def test_staff_sees_the_provider_health_charts_drawn_with_the_days_data(
    gateway: WebServer, chromium: webdriver.Chrome
) -> None:
    chromium.get(f"{gateway.url}/admin/")
    chromium.find_element(By.NAME, "username").send_keys("ops")
    chromium.find_element(By.NAME, "password").send_keys("a-long-test-password")
    chromium.find_element(By.CSS_SELECTOR, "input[type=submit]").click()
    WebDriverWait(chromium, 30).until(lambda browser: browser.find_elements(By.ID, "provider-health-link"))
    chromium.find_element(By.LINK_TEXT, "Provider health").click()
    WebDriverWait(chromium, 30).until(lambda browser: browser.find_elements(By.CSS_SELECTOR, "svg.line-chart"))
    SCREENSHOT.parent.mkdir(exist_ok=True)
    chromium.save_screenshot(str(SCREENSHOT))

    # What the browser drew: each chart's lines as laid out boxes, and its points with their values.
    charts = chromium.execute_script(
        """return [...document.querySelectorAll('svg.line-chart')].map(svg => ({
             title: svg.getAttribute('aria-label'),
             lines: [...svg.querySelectorAll('g.series')].map(g => ({
               name: g.dataset.series,
               height: g.querySelector('polyline').getBBox().height,
               points: [...g.querySelectorAll('circle.point')].map(c => ({
                 value: Number(c.dataset.value), width: c.getBoundingClientRect().width})),
             })),
           }))"""
    )
    by_title = {chart["title"]: {line["name"]: line for line in chart["lines"]} for chart in charts}
    sent, failed = by_title["Sent per hour"], by_title["Failed calls per hour (failed, timed out, rejected)"]
    latency = by_title["Call latency per hour, p95"]
    for chart in (sent, latency):
        for line in chart.values():
            assert line["height"] > 0 and all(point["width"] > 0 for point in line["points"])
            assert sum(point["value"] for point in line["points"]) > 0
    assert sum(point["value"] for point in sent["smsir"]["points"]) == 36  # 3 an hour, every other hour
    assert sum(point["value"] for point in failed["kavenegar"]["points"]) == 12
    assert sum(point["value"] for point in failed["smsir"]["points"]) == 0
    assert max(p["value"] for p in latency["kavenegar"]["points"]) > max(p["value"] for p in latency["smsir"]["points"])

    engines = {
        row.get_attribute("data-engine"): row.text
        for row in chromium.find_elements(By.CSS_SELECTOR, "#engines tbody tr")
    }
    assert set(engines) == {"smsir", "kavenegar"}
    assert "100 %" in engines["smsir"] and "67 %" in engines["kavenegar"] and "http_503" in engines["kavenegar"]
    assert "67 % of 36" in engines["smsir"] and "1234.50" in engines["smsir"] and "no reports" in engines["kavenegar"]
    operators = {
        (row.get_attribute("data-operator"), row.get_attribute("data-engine")): row.text
        for row in chromium.find_elements(By.CSS_SELECTOR, "#operators tbody tr")
    }
    assert "100 % of 12" in operators["IR-MCI", "smsir"] and "0 % of 12" in operators["Rightel", "smsir"]
    routing = {
        (row.get_attribute("data-operator"), row.get_attribute("data-engine")): row.text
        for row in chromium.find_elements(By.CSS_SELECTOR, "#routing tbody tr")
    }
    # Score (12 + 0.9 * 5) / (12 + 5) over 12 reports; 12 of the 20 messages to IR-MCI (Kavenegar's 4 failed).
    assert "0.97 100 %" in routing["IR-MCI", "smsir"] and "60 % of 20" in routing["IR-MCI", "smsir"]
    assert "0.26 0 %" in routing["Rightel", "smsir"]
    assert "Asia/Tehran" in chromium.find_element(By.CSS_SELECTOR, "#content").text
