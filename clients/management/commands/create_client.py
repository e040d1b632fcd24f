from django.core.management.base import BaseCommand, CommandError, CommandParser

from clients.models import Client
from clients.services import client_create


class Command(BaseCommand):
    help = (
        "Create an API client with a first key holding every scope and print the key (the last line of the "
        "output), shown only once. More keys: manage.py client_keys."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name")

    def handle(self, *args: object, **options: str) -> None:
        name = options["name"]
        if Client.objects.filter(name=name).exists():
            raise CommandError(f"A client named {name!r} exists already.")
        client, key = client_create(name=name)
        self.stdout.write(f"Created client {client.name!r} (id {client.pk}). Its key, shown only this once:")
        self.stdout.write(key)
