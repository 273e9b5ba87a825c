from django.apps import AppConfig


class AuditConfig(AppConfig):
    """The tamper-evident, per-tenant audit log."""

    name = "apps.audit"
    label = "audit"

    def ready(self) -> None:
        from apps.audit import receivers  # noqa: F401
