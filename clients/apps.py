from django.apps import AppConfig


class ClientsConfig(AppConfig):
    name = "clients"
    verbose_name = "API clients"

    def ready(self) -> None:
        from clients import signals  # noqa: F401  (registers the purge's beat entry on post_migrate)
