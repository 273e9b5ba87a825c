from django.apps import AppConfig


class CommonConfig(AppConfig):
    """Cross-cutting pieces every app leans on: ids, errors, request context, queueing."""

    name = "apps.common"
    label = "common"

    def ready(self) -> None:
        from django.core.signals import request_finished, request_started

        from apps.common import connection_trust

        # After django.db's own close_old_connections (connected at import, so called first).
        request_started.connect(connection_trust.on_request_started, dispatch_uid="common.trust_fresh_connections")
        request_finished.connect(connection_trust.on_request_finished, dispatch_uid="common.note_request_finish")
