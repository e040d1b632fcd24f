"""Clients and their API keys: create, rotate, revoke. A key is returned once and only its hash is stored."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from clients.models import Client, ClientKey, Scope
from common.exceptions import ApplicationError

ALL_SCOPES = tuple(scope.value for scope in Scope)
PREFIX_LENGTH = 8


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def scopes_clean(scopes: Iterable[str]) -> list[str]:
    """``scopes`` in the canonical order, or ApplicationError naming the unknown ones."""
    wanted = set(scopes)
    unknown = sorted(wanted - set(ALL_SCOPES))
    if unknown or not wanted:
        raise ApplicationError(
            f"Scopes are one or more of {', '.join(ALL_SCOPES)}; got {', '.join(unknown) or 'none'}.",
            code="invalid_scopes",
        )
    return [scope for scope in ALL_SCOPES if scope in wanted]


@transaction.atomic
def client_create(*, name: str) -> tuple[Client, str]:
    """Create a client with a first key holding every scope; the key is never retrievable again."""
    client = Client.objects.create(name=name)
    _, key = client_key_create(client=client, name="first key", scopes=ALL_SCOPES)
    return client, key


def _new_key() -> str:
    """32 random bytes, URL-safe, never starting with "-": commands take a key's prefix as an argument, and a
    leading dash would read as an option."""
    while (key := secrets.token_urlsafe(32)).startswith("-"):
        pass
    return key


def client_key_create(
    *, client: Client, name: str, scopes: Iterable[str], expires_at: datetime | None = None
) -> tuple[ClientKey, str]:
    """A new key for ``client``, returned with its only readable copy."""
    clean = scopes_clean(scopes)
    for _ in range(5):  # the prefix is unique so commands can name a key by it; 48 random bits rarely collide
        key = _new_key()
        try:
            with transaction.atomic():
                created = ClientKey.objects.create(
                    client=client,
                    name=name,
                    prefix=key[:PREFIX_LENGTH],
                    key_hash=hash_key(key),
                    scopes=clean,
                    expires_at=expires_at,
                )
        except IntegrityError:
            continue
        return created, key
    raise RuntimeError("five key prefixes in a row collided")  # pragma: no cover  (2^-48 each)


@transaction.atomic
def client_key_rotate(*, key: ClientKey, old_expires_at: datetime | None = None) -> tuple[ClientKey, str]:
    """A new key with the old one's name and scopes. The old key keeps working until it is revoked
    or ``old_expires_at`` passes (if given, it is moved no later than that), so a client switches without
    downtime."""
    if key.revoked_at is not None:
        raise ApplicationError(f"Key {key.prefix} is revoked; create a new one instead.", code="key_revoked")
    if old_expires_at is not None and (key.expires_at is None or old_expires_at < key.expires_at):
        key.expires_at = old_expires_at
        key.save(update_fields=["expires_at"])
    return client_key_create(client=key.client, name=key.name, scopes=key.scopes, expires_at=None)


def client_key_revoke(*, key: ClientKey) -> ClientKey:
    """Refuse ``key`` from now on: at once in this process, within ``SMS_AUTH_MEMO_SECONDS`` in the others."""
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at"])
    return key


def client_key_get(*, prefix: str) -> ClientKey:
    """The key whose prefix is ``prefix`` (the first characters of the key, as lists show them)."""
    found = ClientKey.objects.select_related("client").filter(prefix=prefix[:PREFIX_LENGTH]).first()
    if found is None:
        raise ApplicationError(f"No key starts with {prefix[:PREFIX_LENGTH]!r}.", code="unknown_key", status_code=404)
    return found
