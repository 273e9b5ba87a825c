from django.apps import AppConfig


class AlertsConfig(AppConfig):
    """Alerts: one per real problem, deduplicated by the database, with a lifecycle."""

    name = "apps.alerts"
    label = "alerts"
