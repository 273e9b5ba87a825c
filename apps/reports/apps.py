from django.apps import AppConfig


class ReportsConfig(AppConfig):
    """Analytics for the portal, computed in the database."""

    name = "apps.reports"
    label = "reports"
