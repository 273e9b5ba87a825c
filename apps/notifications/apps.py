from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    """Delivery of alerts to people: channels, escalation policies, the outbox."""

    name = "apps.notifications"
    label = "notifications"

    def ready(self) -> None:
        from apps.alerts.hooks import register_raise_hook
        from apps.notifications import receivers  # noqa: F401  (alert_changed listeners)
        from apps.notifications.escalation import plan_first_step
        from apps.notifications.metrics import register_outbox_collector

        register_raise_hook(plan_first_step)
        register_outbox_collector()
