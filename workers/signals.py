"""Carry the request id from the publishing process into the task that runs the work,
recycle database connections between tasks the way Django does between requests, and
settle each pool process's heap after its first task (apps/common/heap.py)."""

from __future__ import annotations

import time

from celery.signals import before_task_publish, task_postrun, task_prerun
from django.conf import settings
from django.db import close_old_connections, connections

from apps.common.heap import settle_heap
from apps.common.request_context import get_request_id, new_request_id, reset_request_id, set_request_id

REQUEST_ID_HEADER = "tocsin_request_id"
_tokens: dict[str, object] = {}
_last_clean_finish = 0.0


@before_task_publish.connect
def attach_request_id(headers=None, **_kwargs) -> None:
    if headers is not None and REQUEST_ID_HEADER not in headers:
        headers[REQUEST_ID_HEADER] = get_request_id() or new_request_id()


@task_prerun.connect
def recycle_database_connections(task=None, **_kwargs) -> None:
    """With CELERY_DB_REUSE_MAX a worker keeps its connection across tasks; drop it when it is
    past CONN_MAX_AGE or unusable (a restarted PostgreSQL), never mid-task."""
    if task is None or not getattr(task.request, "is_eager", False):
        close_old_connections()
        _trust_fresh_connections()


def _trust_fresh_connections() -> None:
    """CONN_HEALTH_CHECKS makes the first query of every task a `SELECT 1` round trip first.
    A connection that finished the previous task without an error moments ago is alive with
    near certainty, so the check is skipped for it (Django's own `health_check_done` flag);
    after an idle spell, or any error, the check runs as configured."""
    if time.monotonic() - _last_clean_finish > settings.TOCSIN_WORKER_DB_TRUST_SECONDS:
        return
    for connection in connections.all(initialized_only=True):
        if connection.connection is not None and not connection.errors_occurred:
            connection.health_check_done = True


@task_postrun.connect
def note_clean_finish(task=None, **_kwargs) -> None:
    global _last_clean_finish
    if task is not None and not getattr(task.request, "is_eager", False):
        clean = all(not c.errors_occurred for c in connections.all(initialized_only=True))
        _last_clean_finish = time.monotonic() if clean else 0.0
        settle_heap()  # once per process, between tasks


@task_prerun.connect
def adopt_request_id(task_id=None, task=None, **_kwargs) -> None:
    request_id = getattr(task.request, REQUEST_ID_HEADER, None) if task else None
    _tokens[task_id] = set_request_id(request_id or task_id)


@task_postrun.connect
def forget_request_id(task_id=None, **_kwargs) -> None:
    token = _tokens.pop(task_id, None)
    if token is not None:
        reset_request_id(token)
