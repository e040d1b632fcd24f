"""Data migrations on rows stored before them: phones spelled in other scripts, provider keys in plain text."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.apps.registry import Apps
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.loader import MigrationLoader
from django.utils import timezone

from common.sealing import unseal

MIXED = "+98912111000\uff12"  # a fullwidth last digit, as the old parser stored it
ASCII = "+989121110002"


@pytest.fixture
def migrate(transactional_db: Any) -> Any:
    """Migrates the test database to the given migrations (back or forth) and returns the models as they were
    there; the database goes back to the latest migrations afterwards."""

    def to(targets: list[tuple[str, str]]) -> Apps:
        MigrationExecutor(connection).migrate(targets)
        loader = MigrationLoader(connection)  # every app as the database now is, not only the targets' apps
        return loader.project_state(list(loader.applied_migrations)).apps

    yield to
    call_command("migrate", verbosity=0)


def test_old_rows_get_ascii_phones_and_sealed_provider_keys(migrate: Any) -> None:
    old = migrate([("messaging", "0004_delivery_reports_and_credit"), ("verifications", "0001_initial")])
    client = old.get_model("clients", "Client").objects.create(name="c")
    template = old.get_model("messaging", "Templates").objects.create(template_id=1, name="t")
    old.get_model("messaging", "Engine").objects.create(
        name="smsir", kind="smsir", api_url="http://127.0.0.1:9/", provider_token="plain-provider-key"
    )
    requests = old.get_model("messaging", "VerifyRequests").objects
    for phone in (MIXED, "+\u0669\u0668912111000\u0662", "+989121234567"):
        requests.create(request_sender=client, phone=phone, template=template, token_value="s1:x")
    verifications = old.get_model("verifications", "Verification").objects
    expires = timezone.now() + timedelta(minutes=10)
    mixed_pending = verifications.create(client=client, phone=MIXED, template=template, expires_at=expires)
    ascii_pending = verifications.create(client=client, phone=ASCII, template=template, expires_at=expires)
    numbers = old.get_model("verifications", "TestNumber").objects
    numbers.create(phone="+98912000000\u0660", code="1111")
    numbers.create(phone="+989120000000", code="2222")
    numbers.create(phone="+98912000001\u0967", code="3333")

    new = migrate([("messaging", "0007_seal_provider_tokens"), ("verifications", "0003_phone_check_sealed_code")])

    phones = new.get_model("messaging", "VerifyRequests").objects.values_list("phone", flat=True)
    assert sorted(phones) == [ASCII, ASCII, "+989121234567"]
    Verification = new.get_model("verifications", "Verification")
    # Two pending codes for one number cannot both stay pending: the ASCII one does.
    assert Verification.objects.get(pk=ascii_pending.pk).status == "pending"
    assert (
        Verification.objects.get(pk=mixed_pending.pk).phone,
        Verification.objects.get(pk=mixed_pending.pk).status,
    ) == (
        ASCII,
        "expired",
    )
    assert sorted(new.get_model("verifications", "TestNumber").objects.values_list("phone", "code")) == [
        ("+989120000000", "2222"),
        ("+989120000011", "3333"),
    ]
    with connection.cursor() as cursor:
        cursor.execute("SELECT provider_token FROM messaging_engine")
        [(stored,)] = cursor.fetchall()
    assert "plain-provider-key" not in stored
    assert unseal(stored) == "plain-provider-key"
    assert new.get_model("messaging", "Engine").objects.get().provider_token == "plain-provider-key"
