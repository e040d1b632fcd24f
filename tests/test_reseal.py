"""``manage.py reseal``: after a key rotation every sealed column (provider keys, token values, codes kept for
resending) moves to the new key, batch by batch, so the old key can be dropped."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

import pytest
from cryptography.exceptions import InvalidTag
from django.core.management import call_command
from django.utils import timezone

from common import sealing
from common.resealing import sealed_columns
from messaging.models import Engine, VerifyRequests
from messaging.tests.factories import make_engine, make_request, make_template
from verifications.models import Verification
from verifications.tests.conftest import database_text

pytestmark = pytest.mark.django_db


def keys(settings: Any, *secrets: str) -> None:
    settings.SMS_GATEWAY = {**settings.SMS_GATEWAY, "TOKEN_SEAL_KEYS": list(secrets)}


def reseal(batch_size: int = 2) -> str:
    out = io.StringIO()
    call_command("reseal", batch_size=batch_size, stdout=out)
    return out.getvalue()


def test_every_sealed_column_is_found() -> None:
    found = {f"{model._meta.label}.{name}" for model, name in sealed_columns()}

    assert found == {
        "messaging.Engine.provider_token",
        "messaging.VerifyRequests.token_value",
        "verifications.Verification.code_sealed",
    }


def test_reseal_moves_every_secret_to_the_first_key_so_the_old_one_can_go(settings: Any, api_client_key: Any) -> None:
    keys(settings, "old-key")
    client = api_client_key[0]
    make_engine(name="smsir", provider_token="smsir-secret")
    template = make_template()
    requests = [make_request(client, tokens={"code": f"{index}"}) for index in range(5)]
    legacy = sealing._fernet("old-key").encrypt(b'{"code":"777777"}').decode()
    VerifyRequests.objects.filter(pk=requests[0].pk).update(token_value=legacy)
    expires = timezone.now() + timedelta(minutes=10)
    verification = Verification.objects.create(
        client=client, phone="+989121234567", template=template, code_sealed=sealing.seal("482913"), expires_at=expires
    )
    finished = Verification.objects.create(
        client=client, phone="+989121234568", template=template, status="approved", expires_at=expires
    )
    keys(settings, "new-key", "old-key")

    output = reseal()

    assert "messaging.Engine.provider_token: 1 of 1 re-sealed" in output
    assert "messaging.VerifyRequests.token_value: 5 of 5 re-sealed" in output
    assert "verifications.Verification.code_sealed: 1 of 1 re-sealed" in output  # the empty one is skipped
    keys(settings, "new-key")
    assert Engine.objects.get(name="smsir").provider_token == "smsir-secret"
    tokens = [sealing.unseal(row.token_value) for row in VerifyRequests.objects.order_by("pk")]
    assert tokens == [{"code": "777777"}, *({"code": f"{index}"} for index in range(1, 5))]
    assert sealing.unseal(Verification.objects.get(pk=verification.pk).code_sealed) == "482913"
    assert Verification.objects.get(pk=finished.pk).code_sealed == ""
    assert "0 of 5 re-sealed" in reseal()  # nothing left under another key


def test_without_reseal_the_old_key_cannot_be_dropped(settings: Any, api_client_key: Any) -> None:
    keys(settings, "old-key")
    request = make_request(api_client_key[0])
    keys(settings, "new-key")

    with pytest.raises(InvalidTag):
        sealing.unseal(VerifyRequests.objects.get(pk=request.pk).token_value)


def test_a_database_dump_shows_no_provider_key(db: Any) -> None:
    make_engine(name="smsir", provider_token="smsir-secret-key")
    make_engine(name="kavenegar", kind="kavenegar", provider_token="kavenegar-secret-key")

    dump = database_text()

    assert "smsir-secret-key" not in dump and "kavenegar-secret-key" not in dump
    assert {engine.provider_token for engine in Engine.objects.all()} == {"smsir-secret-key", "kavenegar-secret-key"}
