from django.apps import AppConfig


class ReportsConfig(AppConfig):
    """Analytics for the portal, computed in the database, and the generated PDF reports."""

    name = "apps.reports"
    label = "reports"

    def ready(self) -> None:
        from apps.reports.receivers import site_history
        from apps.tenancy.signals import site_history_requested

        site_history_requested.connect(site_history, dispatch_uid="reports.site_history")
