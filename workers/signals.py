"""Carry the request id from the publishing process into the task that runs the work,
recycle database connections between tasks the way Django does between requests, and
settle the heap of the worker's main process before it forks its pool and of each pool
process after its first task (apps/common/heap.py)."""

from __future__ import annotations

from celery.signals import before_task_publish, task_postrun, task_prerun, worker_init
from django.db import close_old_connections

from apps.common import connection_trust
from apps.common.heap import settle_heap
from apps.common.request_context import get_request_id, new_request_id, reset_request_id, set_request_id

REQUEST_ID_HEADER = "tocsin_request_id"
_tokens: dict[str, object] = {}


@before_task_publish.connect
def attach_request_id(headers=None, **_kwargs) -> None:
    if headers is not None and REQUEST_ID_HEADER not in headers:
        headers[REQUEST_ID_HEADER] = get_request_id() or new_request_id()


@task_prerun.connect
def recycle_database_connections(task=None, **_kwargs) -> None:
    """With CELERY_DB_REUSE_MAX a worker keeps its connection across tasks; drop it when it is
    past CONN_MAX_AGE or unusable (a restarted PostgreSQL), never mid-task. A connection that
    finished the previous task cleanly moments ago skips the health check's `SELECT 1`
    (apps/common/connection_trust.py)."""
    if task is None or not getattr(task.request, "is_eager", False):
        close_old_connections()
        connection_trust.trust_fresh_connections()


@task_postrun.connect
def note_clean_finish(task=None, **_kwargs) -> None:
    if task is not None and not getattr(task.request, "is_eager", False):
        connection_trust.note_finish()
        settle_heap()  # once per process, between tasks


@worker_init.connect
def settle_main_process_heap(**_kwargs) -> None:
    """The main process receives, dispatches and acknowledges every task: a full collection
    there holds up all of them. Settled before the pool forks and before anything is
    consumed (settled once it was ready, its ~100 ms collection delayed the first pages);
    the pool processes inherit the frozen heap."""
    settle_heap()


@task_prerun.connect
def adopt_request_id(task_id=None, task=None, **_kwargs) -> None:
    request_id = getattr(task.request, REQUEST_ID_HEADER, None) if task else None
    _tokens[task_id] = set_request_id(request_id or task_id)


@task_postrun.connect
def forget_request_id(task_id=None, **_kwargs) -> None:
    token = _tokens.pop(task_id, None)
    if token is not None:
        reset_request_id(token)
