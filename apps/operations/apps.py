from django.apps import AppConfig


class OperationsConfig(AppConfig):
    """The platform watching itself: heartbeats of beat and workers, the watchdog, readiness."""

    name = "apps.operations"
    label = "operations"

    def ready(self) -> None:
        from apps.common import health
        from apps.operations import checks
        from apps.operations.metrics import register_platform_collector

        health.READINESS_CHECKS.update(checks.PLATFORM_CHECKS)
        register_platform_collector()
