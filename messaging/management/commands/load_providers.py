from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from messaging.services.config import ConfigError, config_read, providers_load


class Command(BaseCommand):
    help = "Create or update engines, templates and their mappings from a YAML or JSON file."
    # The system checks would warn "no enabled engine" before the load that creates the engines.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)

    def handle(self, *args: object, **options: Path) -> None:
        path = options["file"]
        if not path.exists():
            raise CommandError(f"{path}: no such file")
        try:
            summary = providers_load(data=config_read(path))
        except ConfigError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"Loaded {summary.engines} engine(s), {summary.templates} template(s), {summary.mappings} mapping(s)."
        )
