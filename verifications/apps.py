from django.apps import AppConfig


class VerificationsConfig(AppConfig):
    name = "verifications"
    verbose_name = "Verifications"

    def ready(self) -> None:
        from verifications import checks, signals  # noqa: F401  (registers checks and post_migrate)
