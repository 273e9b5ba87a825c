from django.apps import AppConfig


class DemoConfig(AppConfig):
    """Demo data for `make run`. Sits above every domain app, since it seeds all of them."""

    name = "apps.demo"
    label = "demo"
