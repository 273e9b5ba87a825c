"""The default beat schedule, installed into django-celery-beat by `setup_periodic_tasks`.

Kept in the database (not in code-only beat config) so operators see and tune it in the
admin; the command is idempotent and updates the rows it owns.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    task: str
    every_seconds: int
    description: str


DEFAULT_SCHEDULE: tuple[PeriodicJob, ...] = (
    PeriodicJob(
        name="Flush expired auth tokens",
        task="tocsin.housekeeping.flush_expired_tokens",
        every_seconds=6 * 3600,
        description="Removes expired refresh tokens and their blacklist entries.",
    ),
)
