"""The house task decorator: every Tocsin task is declared with `tocsin_task`.

It encodes the rules of the house (docs/architecture.md) once: explicit dotted names,
`acks_late` (a crashed worker's task is redelivered, so task bodies are idempotent), time
limits below the broker's visibility timeout, automatic retry of transient errors with
exponential backoff and jitter (never of permanent ones), and retries published to the
`retry` queue so they can't starve first attempts.
"""

from __future__ import annotations

import logging

from celery import Task
from django.conf import settings

from workers.app import app
from workers.routes import RETRY_QUEUE, TASK_ROUTES

logger = logging.getLogger("tocsin.tasks")


class TransientTaskError(Exception):
    """Worth trying again later (timeouts, connection resets, 429, 5xx)."""

    def __init__(self, message: str = "", *, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


class PermanentTaskError(Exception):
    """Will fail the same way every time; retrying only repeats the damage."""


class TocsinTask(Task):
    abstract = True

    def retry(self, args=None, kwargs=None, exc=None, throw=True, eta=None, countdown=None,
              max_retries=None, **options):
        options.setdefault("queue", RETRY_QUEUE)
        retry_after = getattr(exc, "retry_after", None)
        if retry_after is not None and eta is None:
            # The far side told us when to come back: that beats the backoff Celery computed
            # for autoretry (which passes its own countdown), bounded.
            countdown = min(float(retry_after), settings.TOCSIN_TASK_RETRY_BACKOFF_MAX)
        return super().retry(args=args, kwargs=kwargs, exc=exc, throw=throw, eta=eta,
                             countdown=countdown, max_retries=max_retries, **options)

    def on_failure(self, exc, task_id, args, kwargs, einfo):
        logger.error("task failed", extra={"task": self.name, "task_id": task_id,
                                           "error": type(exc).__name__})

    def on_retry(self, exc, task_id, args, kwargs, einfo):
        logger.warning("task will retry", extra={"task": self.name, "task_id": task_id,
                                                 "error": type(exc).__name__,
                                                 "attempt": self.request.retries + 1})


def tocsin_task(*, name: str, retry_on: tuple[type[BaseException], ...] = (TransientTaskError,),
                max_retries: int | None = None, time_limit: int | None = None, **options):
    """Declare a task. `name` must appear in `workers.routes.TASK_ROUTES`."""
    if name not in TASK_ROUTES:
        raise LookupError(f"Task {name} has no route in workers/routes.py")
    soft = options.pop("soft_time_limit", None)
    hard = time_limit or settings.CELERY_TASK_TIME_LIMIT
    if not retry_on:
        options.setdefault("retry_backoff", False)
    return app.task(
        name=name,
        base=TocsinTask,
        bind=True,
        acks_late=True,
        autoretry_for=retry_on,
        dont_autoretry_for=(PermanentTaskError,),
        retry_backoff=options.pop("retry_backoff", True),
        retry_backoff_max=settings.TOCSIN_TASK_RETRY_BACKOFF_MAX,
        retry_jitter=True,
        max_retries=settings.TOCSIN_TASK_MAX_RETRIES if max_retries is None else max_retries,
        time_limit=hard,
        soft_time_limit=soft or max(1, int(hard * 0.75)),
        **options,
    )
