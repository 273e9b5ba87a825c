from django.apps import AppConfig


class RealtimeConfig(AppConfig):
    """The live side: events published to Redis after commit, the SSE stream, the board."""

    name = "apps.realtime"
    label = "realtime"

    def ready(self) -> None:
        from apps.realtime import receivers  # noqa: F401  (connects the after-commit receivers)
