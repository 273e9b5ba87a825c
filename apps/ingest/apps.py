from django.apps import AppConfig


class IngestConfig(AppConfig):
    """What devices report (heartbeats, scans, telemetry, their own alerts) and the rules
    that turn it into alerts."""

    name = "apps.ingest"
    label = "ingest"

    def ready(self) -> None:
        from apps.devices.config import register_config_provider
        from apps.ingest.rules import config_for_device

        register_config_provider(config_for_device)
