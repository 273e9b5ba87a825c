from django.apps import AppConfig


class IngestConfig(AppConfig):
    """What devices report (heartbeats, scans, telemetry, their own alerts) and the rules
    that turn it into alerts."""

    name = "apps.ingest"
    label = "ingest"

    def ready(self) -> None:
        from apps.devices.config import register_config_provider
        from apps.devices.signals import device_tampered
        from apps.ingest.rules import config_for_device
        from apps.ingest.tamper import on_device_tampered

        register_config_provider(config_for_device)
        device_tampered.connect(on_device_tampered, dispatch_uid="ingest.tamper_alert")
