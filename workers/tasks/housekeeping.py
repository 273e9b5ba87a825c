"""Periodic clean-up and liveness tasks (the `maintenance` queue)."""

from __future__ import annotations

import logging

from django.core import management

from workers.base import tocsin_task

logger = logging.getLogger(__name__)


@tocsin_task(name="tocsin.housekeeping.flush_expired_tokens")
def flush_expired_tokens(self) -> None:
    """Drop expired refresh tokens (and their blacklist rows) so the tables stay small."""
    management.call_command("flushexpiredtokens", verbosity=0)


@tocsin_task(name="tocsin.housekeeping.ping", max_retries=0)
def ping(self) -> str:
    """A no-op that logs; used by operators and tests to see a worker end to end."""
    logger.info("ping received")
    return "pong"


@tocsin_task(name="tocsin.housekeeping.retention", max_retries=0, time_limit=600)
def retention(self) -> dict:
    """Expired credentials and reports past their retention; each app purges its own."""
    from apps.devices.services import purge_expired_credentials
    from apps.ingest.services import purge_old_reports

    purged = {**purge_expired_credentials(), **purge_old_reports()}
    logger.info("retention cleanup", extra={"purged": purged})
    return purged
