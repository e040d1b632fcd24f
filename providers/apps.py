from django.apps import AppConfig


class ProvidersConfig(AppConfig):
    """SMS vendor adapters and their simulator. No models: engines live in ``messaging``."""

    name = "providers"
    verbose_name = "SMS providers"
