from django.apps import AppConfig


class DevicesConfig(AppConfig):
    """Machine identities: setup tokens, enrolment, device tokens, API keys."""

    name = "apps.devices"
    label = "devices"

    def ready(self) -> None:
        from apps.devices import schema  # noqa: F401  (OpenAPI extensions register on import)
        from apps.devices.receivers import on_site_deprovisioning, site_history
        from apps.tenancy.signals import site_deprovisioning, site_history_requested

        site_deprovisioning.connect(on_site_deprovisioning, dispatch_uid="devices.site_deprovisioning")
        site_history_requested.connect(site_history, dispatch_uid="devices.site_history")
