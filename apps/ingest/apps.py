from django.apps import AppConfig


class IngestConfig(AppConfig):
    """What devices report (heartbeats, scans, telemetry, their own alerts) and the rules
    that turn it into alerts."""

    name = "apps.ingest"
    label = "ingest"

    def ready(self) -> None:
        from apps.devices.config import register_config_provider
        from apps.devices.signals import device_history_requested, device_tampered
        from apps.ingest.receivers import device_history, site_created, site_history
        from apps.ingest.site_rules import config_for_device
        from apps.ingest.tamper import on_device_tampered
        from apps.tenancy.signals import site_created as site_created_signal
        from apps.tenancy.signals import site_history_requested

        register_config_provider(config_for_device)
        from apps.devices.shadows import register_shadow_handler
        from apps.ingest.fleet import clear_drift_if_converged

        register_shadow_handler(clear_drift_if_converged)
        device_history_requested.connect(device_history, dispatch_uid="ingest.device_history")
        site_history_requested.connect(site_history, dispatch_uid="ingest.site_history")
        site_created_signal.connect(site_created, dispatch_uid="ingest.site_rule_defaults")
        device_tampered.connect(on_device_tampered, dispatch_uid="ingest.tamper_alert")
