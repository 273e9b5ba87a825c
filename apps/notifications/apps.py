from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    """Delivery of alerts to people: channels, escalation policies, the outbox."""

    name = "apps.notifications"
    label = "notifications"

    def ready(self) -> None:
        from apps.alerts.hooks import register_lifecycle_hook
        from apps.notifications import (
            defaults,  # noqa: F401  (a new tenant gets its catch-all policy)
            exports,  # noqa: F401  (the deliveries CSV export registers itself)
        )
        from apps.notifications.holds import on_window_changed
        from apps.notifications.lifecycle import on_alert_change
        from apps.notifications.metrics import register_outbox_collector
        from apps.notifications.report_sections import delivery_counts
        from apps.oncall.hooks import register_window_hook
        from apps.reports.sections import register_delivery_counter

        register_lifecycle_hook(on_alert_change)
        register_window_hook(on_window_changed)
        register_delivery_counter(delivery_counts)
        register_outbox_collector()
