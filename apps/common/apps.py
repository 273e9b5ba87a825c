from django.apps import AppConfig


class CommonConfig(AppConfig):
    """Cross-cutting pieces every app leans on: ids, errors, request context, queueing."""

    name = "apps.common"
    label = "common"

    def ready(self) -> None:
        from django.core.signals import request_finished

        from apps.common import connection_trust

        # The start of a request is TrustFreshConnectionsMiddleware's (first in MIDDLEWARE).
        request_finished.connect(connection_trust.on_request_finished, dispatch_uid="common.note_request_finish")
