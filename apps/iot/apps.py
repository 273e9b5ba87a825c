from django.apps import AppConfig


class IotConfig(AppConfig):
    name = "apps.iot"
    label = "iot"
    verbose_name = "Plants over MQTT"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from apps.common.crypto import register_rotator
        from apps.iot.metrics import register_iot_collector
        from apps.iot.services import rotate_iot_secrets

        register_iot_collector()
        register_rotator("MQTT CA and gateway key(s)", rotate_iot_secrets)
