from django.apps import AppConfig


class DevicesConfig(AppConfig):
    """Machine identities: setup tokens, enrolment, device tokens, API keys."""

    name = "apps.devices"
    label = "devices"

    def ready(self) -> None:
        from apps.devices import schema  # noqa: F401  (OpenAPI extensions register on import)
