"""Keys that existed before keys had their own table keep working, with every scope."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from clients.access import key_access
from clients.services import ALL_SCOPES, hash_key

BEFORE = [("clients", "0002_idempotency_record")]


@pytest.mark.django_db(transaction=True)
def test_a_client_key_from_before_keeps_working_with_every_scope() -> None:
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old_apps: Any = executor.loader.project_state(BEFORE).apps
    key = "legacy-key-from-before-scopes-0123456789abcdef"
    old_apps.get_model("clients", "Client").objects.create(name="legacy", key_prefix=key[:8], key_hash=hash_key(key))

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())

    from clients.models import ClientKey

    migrated = ClientKey.objects.select_related("client").get()
    assert (migrated.client.name, migrated.prefix, migrated.scopes) == ("legacy", key[:8], list(ALL_SCOPES))
    assert (migrated.expires_at, migrated.revoked_at) == (None, None)
    for scope in ALL_SCOPES:
        assert key_access(key=key, scopes=frozenset({scope})) == migrated.client
