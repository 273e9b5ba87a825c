from django.apps import AppConfig


class IotConfig(AppConfig):
    name = "apps.iot"
    label = "iot"
    verbose_name = "Plants over MQTT"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from apps.common.crypto import register_rotator
        from apps.devices.signals import device_history_requested
        from apps.iot.metrics import register_iot_collector
        from apps.iot.provisioning import iot_secrets_rotate
        from apps.iot.receivers import device_history, on_site_disconnecting
        from apps.tenancy.signals import site_disconnecting

        site_disconnecting.connect(on_site_disconnecting, dispatch_uid="iot.site_disconnecting")
        device_history_requested.connect(device_history, dispatch_uid="iot.device_history")
        register_iot_collector()
        register_rotator("MQTT CA and gateway key(s)", iot_secrets_rotate)
