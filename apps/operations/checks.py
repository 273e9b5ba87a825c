"""Readiness checks of the platform itself, registered into `/readyz` by the app's ready().

Invariant: a check reads PostgreSQL only (see selectors), one query set per check, so
`/readyz` stays cheap enough for a probe every few seconds and true without Celery.
"""

from __future__ import annotations

from django.conf import settings

from apps.common.health import CheckFailed
from apps.operations.selectors import platform_status


def check_beat() -> dict:
    status = platform_status()
    age = status.age(status.beat_seen_at)
    if age is None:
        raise CheckFailed("beat has never sent a heartbeat")
    if status.beat_stale:
        raise CheckFailed(f"beat last seen {age:.0f} s ago", seconds=age,
                          threshold=settings.TOCSIN_BEAT_STALE_SECONDS)
    return {"seconds": age}


def check_workers() -> dict:
    workers = platform_status().workers
    if not workers:
        raise CheckFailed("no worker is consuming", threshold=settings.TOCSIN_WORKER_STALE_SECONDS)
    return {"workers": sorted(worker["hostname"] for worker in workers)}


def check_outbox() -> dict:
    status = platform_status()
    age = status.outbox_backlog_seconds
    if status.outbox_backlogged:
        raise CheckFailed(f"the oldest due delivery has waited {age:.0f} s", seconds=age,
                          threshold=settings.TOCSIN_OUTBOX_BACKLOG_SECONDS)
    return {"oldest_pending_seconds": age}


def check_dead_letters() -> dict:
    """Dead deliveries need a person, not a restart: named as a warning, never a 503."""
    dead = platform_status().dead_letters
    return {"dead_last_24h": dead, **({"warning": f"{dead} dead deliveries in the last 24 h"} if dead else {})}


PLATFORM_CHECKS = {"beat": check_beat, "workers": check_workers, "outbox": check_outbox,
                   "dead_letters": check_dead_letters}
