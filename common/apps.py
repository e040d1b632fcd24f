from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _create_cache_table(sender: AppConfig, using: str = "default", **kwargs: Any) -> None:
    # The embedded default keeps rate limits and breakers in a database table; make sure it exists.
    from django.conf import settings
    from django.core.management import call_command

    if sender.name == "common" and settings.CACHES["default"]["BACKEND"].endswith("DatabaseCache"):
        call_command("createcachetable", database=using, verbosity=0)


class CommonConfig(AppConfig):
    name = "common"
    verbose_name = "Common"

    def ready(self) -> None:
        post_migrate.connect(_create_cache_table, sender=self)
