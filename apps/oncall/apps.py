from django.apps import AppConfig


class OncallConfig(AppConfig):
    """People's contact methods and notification rules, on-call rosters, maintenance windows."""

    name = "apps.oncall"
    label = "oncall"
