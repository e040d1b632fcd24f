from django.apps import AppConfig


class ClientsConfig(AppConfig):
    name = "clients"
    verbose_name = "API clients"

    def ready(self) -> None:
        # The schema extension; the purge's beat entry at migrate; keys' last-used times written after responses.
        from clients import schema, signals, usage  # noqa: F401
