from django.apps import AppConfig


class ClientsConfig(AppConfig):
    name = "clients"
    verbose_name = "API clients"

    def ready(self) -> None:
        from clients import schema, signals  # noqa: F401  (schema extension; the purge's beat entry at migrate)
