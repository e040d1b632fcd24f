from django.apps import AppConfig


class CommonConfig(AppConfig):
    name = "common"
    verbose_name = "Common"

    def ready(self) -> None:
        from common import openapi  # noqa: F401  (registers the schema extension for strict request bodies)
