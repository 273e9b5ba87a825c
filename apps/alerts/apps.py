from django.apps import AppConfig


class AlertsConfig(AppConfig):
    """Alerts: one per real problem, deduplicated by the database, with a lifecycle."""

    name = "apps.alerts"
    label = "alerts"

    def ready(self) -> None:
        from apps.alerts.receivers import device_history, site_history
        from apps.devices.signals import device_history_requested
        from apps.tenancy.signals import site_history_requested

        device_history_requested.connect(device_history, dispatch_uid="alerts.device_history")
        site_history_requested.connect(site_history, dispatch_uid="alerts.site_history")
