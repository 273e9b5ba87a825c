from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    """Delivery of alerts to people: channels, escalation policies, the outbox."""

    name = "apps.notifications"
    label = "notifications"

    def ready(self) -> None:
        from apps.alerts.extension_points import register_lifecycle_handler
        from apps.notifications import (
            defaults,  # noqa: F401  (a new tenant gets its catch-all policy)
            exports,  # noqa: F401  (the deliveries CSV export registers itself)
        )
        from apps.notifications.holds import on_window_changed
        from apps.notifications.lifecycle import on_alert_change
        from apps.notifications.metrics import register_outbox_collector
        from apps.notifications.report_sections import delivery_counts
        from apps.oncall.extension_points import register_window_handler
        from apps.reports.sections import register_delivery_counter

        register_lifecycle_handler(on_alert_change)
        register_window_handler(on_window_changed)
        register_delivery_counter(delivery_counts)
        register_outbox_collector()
