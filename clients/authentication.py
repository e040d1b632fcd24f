"""``Authorization: Token <key>`` authentication for API clients, with the key's scopes checked per operation."""

from __future__ import annotations

from typing import Any

from rest_framework import authentication, exceptions, permissions
from rest_framework.request import Request

from clients.access import key_access, view_scopes
from clients.models import Client


class ClientTokenAuthentication(authentication.BaseAuthentication):
    """Authenticates the key and checks its scopes against the view's ``key_scopes`` in one decision
    (``clients.access.key_access``, which the fast accept path asks too): 401 or 403 before the view runs."""

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
        view = (request.parser_context or {}).get("view")
        return key_access(key=key, scopes=view_scopes(view, request.method or "")), key

    def authenticate_header(self, request: Request) -> str:
        return self.keyword


class IsClient(permissions.BasePermission):
    def has_permission(self, request: Request, view: Any) -> bool:
        return isinstance(request.user, Client)


def request_client(request: Request) -> Client:
    """The authenticated client of a request that passed ``IsClient``."""
    client = request.user
    if not isinstance(client, Client):
        raise exceptions.NotAuthenticated()
    return client
