"""Who may call which operation: the one decision both the DRF views and the fast accept path ask for.

A key reaches an operation when it is known, not revoked, not expired, its client is active, and it holds
one of the scopes the operation accepts. Every request authenticates and keys change rarely, so each
process remembers what a key may do for ``SMS_AUTH_MEMO_SECONDS``: a key revoked (or a client
deactivated) is refused at once by the process that saved it and within that time by the others.
Expiry is checked on every request against the remembered time, so it is exact. Unknown keys are not
remembered (nothing to gain, and a key created a moment ago must work at once).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from rest_framework import exceptions

from clients.models import Client, ClientKey, Scope
from clients.services import hash_key
from clients.usage import key_used
from common.conf import gateway_settings
from common.memo import Memo

INVALID_KEY_MESSAGE = "Invalid or inactive token."

# Scopes per HTTP method an API view declares as ``key_scopes``; HEAD is GET's.
KeyScopes = Mapping[str, frozenset[str]]
SEND: frozenset[str] = frozenset({Scope.SEND.value})
VERIFY: frozenset[str] = frozenset({Scope.VERIFY.value})
READ: frozenset[str] = frozenset({Scope.READ.value})


class InsufficientScope(exceptions.APIException):
    status_code = 403
    default_code = "insufficient_scope"
    default_detail = "This key may not call this operation."


@dataclass(frozen=True, slots=True)
class KeyGrant:
    """What one key may do, as remembered between requests."""

    client: Client
    key_id: int
    scopes: frozenset[str]
    expires_at: float | None  # a time.time(); None: never


_grants: Memo[str, KeyGrant] = Memo(lambda: float(gateway_settings()["AUTH_MEMO_SECONDS"]))


def key_access(*, key: str, scopes: frozenset[str] | None) -> Client:
    """The client ``key`` belongs to, if the key may call an operation accepting any of ``scopes`` (None:
    any valid key). Raises ``AuthenticationFailed`` (401) for a key that is unknown, revoked, expired or
    whose client is inactive, and ``InsufficientScope`` (403) for a valid key without the scope."""
    key_hash = hash_key(key)
    grant = _grants.get(key_hash)
    if grant is None:
        grant = _grant_load(key_hash)
        if grant is None:
            raise exceptions.AuthenticationFailed(INVALID_KEY_MESSAGE)
        _grants.put(key_hash, grant)
    if grant.expires_at is not None and time.time() >= grant.expires_at:
        raise exceptions.AuthenticationFailed(INVALID_KEY_MESSAGE)
    if scopes is not None and grant.scopes.isdisjoint(scopes):
        raise InsufficientScope(insufficient_scope_message(scopes))
    key_used(grant.key_id)
    return grant.client


def insufficient_scope_message(scopes: frozenset[str]) -> str:
    return f"This key lacks the scope this operation needs: {' or '.join(sorted(scopes))}."


def _grant_load(key_hash: str) -> KeyGrant | None:
    # The key's hash is unique and indexed; comparing hashes leaks nothing useful about the key.
    try:
        found = ClientKey.objects.select_related("client").get(
            key_hash=key_hash, revoked_at__isnull=True, client__is_active=True
        )
    except ClientKey.DoesNotExist:
        return None
    expires_at = found.expires_at.timestamp() if found.expires_at is not None else None
    return KeyGrant(client=found.client, key_id=found.pk, scopes=frozenset(found.scopes), expires_at=expires_at)


def view_scopes(view: Any, method: str) -> frozenset[str] | None:
    """The scopes ``view`` accepts for ``method``; None where it declares none (the schema, OPTIONS, and
    methods the view does not answer, which end in 405)."""
    declared: KeyScopes | None = getattr(view, "key_scopes", None)
    if declared is None:
        return None
    return declared.get("GET" if method == "HEAD" else method)
