from django.apps import AppConfig


class CommonConfig(AppConfig):
    """Cross-cutting pieces every app leans on: ids, errors, request context, queueing."""

    name = "apps.common"
    label = "common"
