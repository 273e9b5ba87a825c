"""Reads of the platform's own state, for `/readyz`, `check_platform` and the watchdog.

Invariant: every figure is computed from PostgreSQL alone (heartbeat rows and the outbox),
never by asking Celery, so it stays true when the broker or every worker is gone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Min
from django.utils import timezone

from apps.notifications.models import Notification, NotificationStatus
from apps.operations.models import Heartbeat, HeartbeatKind

# The periodic tasks whose silence stops paging and offline detection
# (docs/architecture.md, "Escalate" and "Housekeeping").
WATCHED_TASKS = {
    "tocsin.notify.escalation_tick": "escalation tick",
    "tocsin.alerts.offline_sweep": "offline device sweep",
}
DEAD_LETTER_WINDOW = timedelta(hours=24)


@dataclass(frozen=True)
class PlatformStatus:
    now: datetime
    beat_seen_at: datetime | None
    workers: list[dict]  # fresh workers: {"hostname", "seen_at", "queues"}
    task_runs: dict[str, datetime | None]
    oldest_pending_due_at: datetime | None
    dead_letters: int

    def age(self, moment: datetime | None) -> float | None:
        return None if moment is None else round((self.now - moment).total_seconds(), 1)

    @property
    def beat_stale(self) -> bool:
        age = self.age(self.beat_seen_at)
        return age is None or age > settings.TOCSIN_BEAT_STALE_SECONDS

    @property
    def outbox_backlog_seconds(self) -> float:
        return max(0.0, self.age(self.oldest_pending_due_at) or 0.0)

    @property
    def outbox_backlogged(self) -> bool:
        return self.outbox_backlog_seconds > settings.TOCSIN_OUTBOX_BACKLOG_SECONDS


@dataclass(frozen=True)
class PlatformProblem:
    dedup_key: str
    summary: str
    details: dict = field(default_factory=dict)


def platform_status(*, now: datetime | None = None) -> PlatformStatus:
    now = now or timezone.now()
    rows = {row.name: row for row in Heartbeat.objects.all()}
    fresh_after = now - timedelta(seconds=settings.TOCSIN_WORKER_STALE_SECONDS)
    workers = [{"hostname": row.name.removeprefix("worker:"), "seen_at": row.seen_at,
                "queues": row.details.get("queues", [])}
               for row in rows.values() if row.kind == HeartbeatKind.WORKER and row.seen_at >= fresh_after]
    beat = rows.get("beat")
    pending = Notification.objects.filter(status=NotificationStatus.PENDING, due_at__lte=now).aggregate(
        oldest=Min("due_at"))["oldest"]
    dead = Notification.objects.filter(status=NotificationStatus.DEAD, dead_at__gte=now - DEAD_LETTER_WINDOW).count()
    return PlatformStatus(
        now=now, beat_seen_at=beat.seen_at if beat else None, workers=workers,
        task_runs={task: (rows[f"task:{task}"].seen_at if f"task:{task}" in rows else None) for task in WATCHED_TASKS},
        oldest_pending_due_at=pending, dead_letters=dead,
    )


def _cause(status: PlatformStatus) -> str:
    """What most likely stopped a periodic task, for the alert's summary."""
    causes = []
    if status.beat_stale:
        age = status.age(status.beat_seen_at)
        causes.append("beat is not running" if age is None else f"beat last seen {age:.0f} s ago")
    if not status.workers:
        causes.append("no worker is consuming")
    return "; ".join(causes) or "beat and workers look alive: check the task's log"


def platform_problems(*, now: datetime | None = None, since: datetime | None = None) -> list[PlatformProblem]:
    """Problems worth paging the operator for. A task that has never run is measured from
    `since` (the watchdog's start), not from the beginning of time."""
    status = platform_status(now=now)
    problems = []
    for task, label in WATCHED_TASKS.items():
        last = status.task_runs[task]
        reference = max(filter(None, (last, since))) if (last or since) else None
        age = status.age(reference)
        if age is not None and age > settings.TOCSIN_BEAT_STALE_SECONDS:
            problems.append(PlatformProblem(
                dedup_key=f"platform:task:{task}",
                summary=f"Tocsin: the {label} has not run for {age:.0f} s ({_cause(status)})",
                details={"task": task, "last_run": last.isoformat() if last else None, "seconds": age,
                         "beat_stale": status.beat_stale, "workers": len(status.workers)}))
    if status.outbox_backlogged:
        age = status.outbox_backlog_seconds
        problems.append(PlatformProblem(
            dedup_key="platform:outbox_backlog",
            summary=f"Tocsin: the oldest pending delivery has waited {age:.0f} s ({_cause(status)})",
            details={"seconds": age, "beat_stale": status.beat_stale, "workers": len(status.workers)}))
    return problems
