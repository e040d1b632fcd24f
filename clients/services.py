from __future__ import annotations

import hashlib
import secrets

from django.db import transaction

from clients.models import Client


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@transaction.atomic
def client_create(*, name: str) -> tuple[Client, str]:
    """Create a client and return it with its key; the key is never retrievable again."""
    key = secrets.token_urlsafe(32)
    client = Client.objects.create(name=name, key_prefix=key[:8], key_hash=hash_key(key))
    return client, key


@transaction.atomic
def client_rotate_key(*, client: Client) -> str:
    key = secrets.token_urlsafe(32)
    client.key_prefix, client.key_hash = key[:8], hash_key(key)
    client.save(update_fields=["key_prefix", "key_hash"])
    return key
