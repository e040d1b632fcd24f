"""The admin login locks a user out from one address after repeated wrong passwords (django-axes)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.conf import settings
from django.contrib.auth.models import User
from django.test import Client as BrowserClient
from django.utils import timezone

LOGIN = "/admin/login/?next=/admin/"


@pytest.fixture
def operator(db: Any) -> User:
    return User.objects.create_superuser("operator", password="the-right-password")


def log_in(password: str, address: str = "203.0.113.7", username: str = "operator") -> int:
    response = BrowserClient().post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=address)
    return int(response.status_code)


def test_the_right_password_is_refused_after_the_failure_limit(operator: User) -> None:
    assert settings.AXES_FAILURE_LIMIT == 5
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert log_in("wrong") == 200  # the form again, with its error
    assert log_in("wrong") == 429  # the failure that reaches the limit locks

    assert log_in("the-right-password") == 429
    assert log_in("the-right-password", address="198.51.100.9") == 302  # locked per user and address


def test_the_lock_lifts_after_the_cool_off(operator: User) -> None:
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        for _ in range(settings.AXES_FAILURE_LIMIT):
            log_in("wrong")
        assert log_in("the-right-password") == 429

        clock.move_to(start + settings.AXES_COOLOFF_TIME + timedelta(seconds=1))
        assert log_in("the-right-password") == 302


def test_fewer_failures_than_the_limit_leave_the_right_password_working(operator: User) -> None:
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        log_in("wrong")

    assert log_in("the-right-password") == 302


def test_failures_are_counted_by_the_address_rate_limits_use(settings: Any) -> None:
    from django.test import RequestFactory

    from messaging.admin import admin_login_ip

    settings.SMS_GATEWAY = {**settings.SMS_GATEWAY, "TRUSTED_PROXY_COUNT": 1}
    behind_proxy = RequestFactory().post(LOGIN, REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="203.0.113.7")

    assert admin_login_ip(behind_proxy) == "203.0.113.7"
    # An address column takes nothing else: none at all, or garbage a proxy passed on, is counted as none.
    assert admin_login_ip(RequestFactory().post(LOGIN, REMOTE_ADDR="")) is None
    assert admin_login_ip(RequestFactory().post(LOGIN, REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="unknown")) is None
