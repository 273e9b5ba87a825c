from django.apps import AppConfig


class WorkersConfig(AppConfig):
    """Registers the task modules once Django is ready, and holds the ops commands."""

    name = "workers"
    label = "workers"

    def ready(self) -> None:
        import workers.heartbeats  # noqa: F401  (beat, worker and watched-task heartbeats)
        import workers.tasks  # noqa: F401
