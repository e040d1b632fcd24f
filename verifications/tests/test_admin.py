"""Operator pages for verifications and test numbers: phone numbers masked unless staff may see them."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client as BrowserClient
from django.urls import reverse

from clients.services import client_create
from messaging.tests.test_admin import staff
from verifications.models import TestNumber, Verification
from verifications.services import verification_start


@pytest.fixture
def verification(db: Any) -> Verification:
    client = client_create(name="backend")[0]
    return verification_start(client=client, phone="+989121234567", template_id=1, ip="127.0.0.1").verification


def pages(verification: Verification) -> list[str]:
    return [
        reverse("admin:verifications_verification_changelist"),
        reverse("admin:verifications_verification_change", args=[verification.pk]),
    ]


def test_verification_pages_mask_the_phone_for_staff_without_the_permission(verification: Verification) -> None:
    browser = staff("verifications.view_verification")

    for page in pages(verification):
        response = browser.get(page)
        assert response.status_code == 200
        assert b"0912***4567" in response.content, page
        assert b"9121234567" not in response.content, page
        assert b'name="_save"' not in response.content, page


def test_verification_pages_show_the_whole_phone_with_view_full_phone(verification: Verification) -> None:
    browser = staff("verifications.view_verification", "messaging.view_full_phone")

    for page in pages(verification):
        assert b"+989121234567" in browser.get(page).content, page


def test_test_number_list_masks_the_phone_without_the_permission(db: Any) -> None:
    TestNumber.objects.create(phone="+989121110000", code="123456", note="store review")
    url = reverse("admin:verifications_testnumber_changelist")

    masked = staff("verifications.view_testnumber").get(url).content
    whole = staff("verifications.view_testnumber", "messaging.view_full_phone").get(url).content

    assert b"0912***0000" in masked and b"9121110000" not in masked
    assert b"+989121110000" in whole


def test_a_superuser_sees_masks_until_given_the_permission(
    admin_client: BrowserClient, admin_user: Any, verification: Verification
) -> None:
    from django.contrib.auth.models import Permission

    assert b"+989121234567" not in admin_client.get(pages(verification)[1]).content
    admin_user.user_permissions.add(Permission.objects.get(codename="view_full_phone"))
    assert b"+989121234567" in admin_client.get(pages(verification)[1]).content
