"""``Authorization: Token <key>`` authentication for API clients."""

from __future__ import annotations

from typing import Any

from rest_framework import authentication, exceptions, permissions
from rest_framework.request import Request

from clients.models import Client
from clients.services import hash_key
from common.conf import gateway_settings
from common.memo import Memo


class ClientTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Token"

    def authenticate(self, request: Request) -> tuple[Client, str] | None:
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Invalid token header.")
        try:
            key = header[1].decode()
        except UnicodeError as exc:
            raise exceptions.AuthenticationFailed("Invalid token header.") from exc
        client = client_for_key(key)
        if client is None:
            raise exceptions.AuthenticationFailed("Invalid or inactive token.")
        return client, key

    def authenticate_header(self, request: Request) -> str:
        return self.keyword


# Every request authenticates, and clients change rarely: each process remembers a key's client for
# SMS_GATEWAY["AUTH_MEMO_SECONDS"]. A client deactivated in the admin is refused at once by the process
# that saved it and within that by the others. Unknown keys are not remembered (nothing to gain, and a
# client created a moment ago must work at once).
_clients: Memo[str, Client] = Memo(lambda: float(gateway_settings()["AUTH_MEMO_SECONDS"]))


def client_for_key(key: str) -> Client | None:
    key_hash = hash_key(key)
    client = _clients.get(key_hash)
    if client is None:
        # The key's hash is unique and indexed; comparing hashes leaks nothing useful about the key.
        client = Client.objects.filter(key_hash=key_hash, is_active=True).first()
        if client is not None:
            _clients.put(key_hash, client)
    return client


class IsClient(permissions.BasePermission):
    def has_permission(self, request: Request, view: Any) -> bool:
        return isinstance(request.user, Client)


def request_client(request: Request) -> Client:
    """The authenticated client of a request that passed ``IsClient``."""
    client = request.user
    if not isinstance(client, Client):
        raise exceptions.NotAuthenticated()
    return client
