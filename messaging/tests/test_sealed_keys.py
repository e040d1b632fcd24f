"""Provider API keys are sealed at rest: whatever writes one (admin, providers file, code), the database holds
only its seal, and the worker opens each engine's key once, not per send."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client as BrowserClient
from django.urls import reverse

from common import fields
from common.sealing import unseal
from messaging.checks import check_engines
from messaging.models import Engine, VerifyRequests
from messaging.services.delivery import requests_deliver
from messaging.tests.conftest import new_request
from messaging.tests.factories import make_attempt, make_request
from messaging.tests.test_load_providers import config, write

KEY = "provider-api-key-4f1c9e"


def stored_key(name: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT provider_token FROM messaging_engine WHERE name = %s", [name])
        return str(cursor.fetchone()[0])


def assert_sealed(name: str, key: str) -> None:
    stored = stored_key(name)
    assert stored.startswith("s1:") and key not in stored
    assert unseal(stored) == key
    assert Engine.objects.get(name=name).provider_token == key  # the model sees it open


def test_a_key_saved_in_the_admin_is_sealed_and_never_shown(admin_client: BrowserClient) -> None:
    form = {
        "name": "smsir",
        "kind": "smsir",
        "api_url": "http://127.0.0.1:8900/smsir",
        "provider_token": KEY,
        "priority": 10,
        "enabled": "on",
        "connect_timeout": 2,
        "read_timeout": 5,
        "max_in_flight": 100,
    }
    assert admin_client.post(reverse("admin:messaging_engine_add"), form).status_code == 302
    assert_sealed("smsir", KEY)
    engine = Engine.objects.get(name="smsir")
    page = admin_client.get(reverse("admin:messaging_engine_change", args=[engine.pk]))
    assert KEY.encode() not in page.content and stored_key("smsir").encode() not in page.content


def test_keys_loaded_from_a_providers_file_are_sealed(db: Any, tmp_path: Path) -> None:
    call_command("load_providers", str(write(tmp_path, config(provider_token=KEY))), verbosity=0)

    assert_sealed("smsir", KEY)
    assert_sealed("kavenegar", "kave-key")


def test_a_key_set_by_a_queryset_update_is_sealed(db: Any, tmp_path: Path) -> None:
    call_command("load_providers", str(write(tmp_path, config())), verbosity=0)
    Engine.objects.filter(name="smsir").update(provider_token=KEY)

    assert_sealed("smsir", KEY)


def test_the_worker_opens_each_engine_key_once_for_many_sends(
    gateway: Any, api_client_key: tuple[Any, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    opened: list[str] = []

    def counting_unseal(token: str) -> Any:
        opened.append(token)
        return unseal(token)

    monkeypatch.setattr(fields, "unseal", counting_unseal)
    requests = [new_request(api_client_key[0], code=f"{index:06d}") for index in range(6)]

    for request in requests:
        requests_deliver(request_ids=[request.id])

    assert set(VerifyRequests.objects.values_list("flag", flat=True)) == {VerifyRequests.Flag.DONE}
    assert [sent["headers"].get("x-api-key") for sent in gateway.received("smsir")] == ["smsir-test-key"] * 6
    assert len(opened) <= 2  # both engines' keys, read with the routes; not one per send


def test_a_key_no_configured_seal_key_opens_is_a_system_check_error(db: Any, tmp_path: Path, settings: Any) -> None:
    call_command("load_providers", str(write(tmp_path, config())), verbosity=0)
    settings.SMS_GATEWAY = {**settings.SMS_GATEWAY, "TOKEN_SEAL_KEYS": ["a-key-that-sealed-nothing"]}

    assert [error.id for error in check_engines()] == ["sms.E006"]


def test_reading_requests_opens_no_engine_key(api: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    call_command("load_providers", str(write(tmp_path, config())), verbosity=0)
    smsir = Engine.objects.get(name="smsir")
    done = [
        make_attempt(make_request(api.gateway_client, flag=VerifyRequests.Flag.DONE, system=smsir), smsir).request
        for _ in range(3)
    ]
    opened: list[str] = []
    monkeypatch.setattr(fields, "unseal", lambda token: opened.append(token))

    listed = api.get("/sendsms/")
    detail = api.get(f"/sendsms/{done[0].id}/")

    assert (listed.status_code, detail.status_code) == (200, 200)
    assert [row["system"] for row in listed.json()["results"]] == ["smsir"] * 3
    assert [attempt["engine"] for attempt in detail.json()["attempts"]] == ["smsir"]
    assert opened == []
