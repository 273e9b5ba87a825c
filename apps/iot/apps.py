from django.apps import AppConfig


class IotConfig(AppConfig):
    name = "apps.iot"
    label = "iot"
    verbose_name = "Plants over MQTT"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from apps.iot.metrics import register_iot_collector

        register_iot_collector()
