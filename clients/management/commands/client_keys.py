import re
from datetime import datetime, timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from clients.models import Client, ClientKey
from clients.services import ALL_SCOPES, client_key_create, client_key_get, client_key_revoke, client_key_rotate
from common.exceptions import ApplicationError

_DURATION = re.compile(r"(\d+)([smhd])")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def _after(duration: str | None) -> datetime | None:
    """``30m``, ``12h``, ``7d`` from now; None stays None."""
    if duration is None:
        return None
    match = _DURATION.fullmatch(duration)
    if match is None:
        raise CommandError(f"{duration!r} is not a duration like 90s, 30m, 12h or 7d.")
    return timezone.now() + timedelta(**{_UNITS[match[2]]: int(match[1])})


class Command(BaseCommand):
    help = (
        "Manage API clients' keys. create and rotate print the new key as the last line, only that once; "
        "list shows prefixes only. Rotation keeps the old key working until it is revoked or expires."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        create = actions.add_parser("create", help="a new key for a client")
        create.add_argument("client", help="the client's name")
        create.add_argument("--name", default="key", help="what the key is for, e.g. 'production'")
        create.add_argument(
            "--scopes", default=",".join(ALL_SCOPES), help=f"comma-separated, of {', '.join(ALL_SCOPES)} (default all)"
        )
        create.add_argument("--expires-in", help="e.g. 90d; default never")
        listing = actions.add_parser("list", help="keys (prefixes only), of one client or all")
        listing.add_argument("client", nargs="?", help="the client's name")
        rotate = actions.add_parser("rotate", help="a new key with an old key's name and scopes")
        rotate.add_argument("prefix", help="the old key's prefix, as list shows it")
        rotate.add_argument("--old-expires-in", help="let the old key expire after this long, e.g. 7d")
        revoke = actions.add_parser("revoke", help="refuse a key from now on")
        revoke.add_argument("prefix")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            getattr(self, f"_{options['action']}")(options)
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc

    def _create(self, options: dict[str, Any]) -> None:
        client = Client.objects.filter(name=options["client"]).first()
        if client is None:
            raise CommandError(f"There is no client named {options['client']!r}.")
        scopes = [scope.strip() for scope in options["scopes"].split(",") if scope.strip()]
        key, secret = client_key_create(
            client=client, name=options["name"], scopes=scopes, expires_at=_after(options["expires_in"])
        )
        self._shown_once(key, secret)

    def _list(self, options: dict[str, Any]) -> None:
        keys = ClientKey.objects.select_related("client").order_by("client__name", "created_at")
        if options["client"]:
            keys = keys.filter(client__name=options["client"])
        self.stdout.write(
            f"{'client':20} {'prefix':8}  {'name':16} {'scopes':22} {'status':8} {'expires':16} last used"
        )
        now = timezone.now()
        for key in keys:
            status = (
                "revoked" if key.revoked_at else "expired" if key.expires_at and key.expires_at <= now else "active"
            )
            self.stdout.write(
                f"{key.client.name:20} {key.prefix:8}  {key.name:16} {','.join(key.scopes):22} {status:8} "
                f"{_when(key.expires_at):16} {_when(key.last_used_at)}"
            )

    def _rotate(self, options: dict[str, Any]) -> None:
        old = client_key_get(prefix=options["prefix"])
        key, secret = client_key_rotate(key=old, old_expires_at=_after(options["old_expires_in"]))
        until = f"until {_when(old.expires_at)}" if old.expires_at else "until you revoke it"
        self.stdout.write(f"The old key {old.prefix} keeps working {until}.")
        self._shown_once(key, secret)

    def _revoke(self, options: dict[str, Any]) -> None:
        key = client_key_revoke(key=client_key_get(prefix=options["prefix"]))
        self.stdout.write(
            f"Revoked {key.prefix} ({key.client.name}, {key.name}): the API refuses it within SMS_AUTH_MEMO_SECONDS."
        )

    def _shown_once(self, key: ClientKey, secret: str) -> None:
        self.stdout.write(
            f"Key {key.prefix} ({key.client.name}, {key.name}; {', '.join(key.scopes)}), shown only once:"
        )
        self.stdout.write(secret)


def _when(moment: datetime | None) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M") if moment else "-"
