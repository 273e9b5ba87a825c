"""The one way apps hand work to Celery.

Apps never import task modules (those live in `workers/`, a layer above); they name the
task and its arguments, and the message is published only after the surrounding
transaction commits, so a worker never looks for a row that isn't there yet. A broker
outage at that moment is logged, not raised: the rows are committed, and the periodic
sweepers in `workers/` pick up whatever was never enqueued. Publishing goes through the
broker's circuit breaker (`redis_guard`), so during an outage a request pays no connect
wait at all once the first publish has failed.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import current_app
from django.db import transaction

from apps.common.redis_guard import CircuitOpenError, breaker_for

logger = logging.getLogger(__name__)


def enqueue(task_name: str, *args: Any, countdown: float | None = None, queue: str | None = None,
            **kwargs: Any) -> bool:
    """Publish now (to the task's routed queue unless `queue` names another). Returns False
    (and logs) when the broker could not take the message."""
    options: dict[str, Any] = {"countdown": countdown} if countdown else {}
    if queue:
        options["queue"] = queue
    try:
        with breaker_for(current_app.conf.broker_url).guard():
            current_app.send_task(task_name, args=args, kwargs=kwargs, **options)
    except CircuitOpenError:
        logger.info("broker unreachable; task left to the sweepers", extra={"task": task_name})
        return False
    except Exception as exc:  # the broker client raises many types; all mean "not enqueued"
        logger.warning("could not enqueue task; a sweeper will retry it",
                       extra={"task": task_name, "error": type(exc).__name__, "detail": str(exc)[:200]})
        return False
    return True


def enqueue_on_commit(task_name: str, *args: Any, **kwargs: Any) -> None:
    """Publish once the current transaction commits (immediately outside one)."""
    transaction.on_commit(lambda: enqueue(task_name, *args, **kwargs))
