"""`manage.py platform_watchdog`: the watchdog that does not depend on Celery.

A small process of its own (a child of `make run`, a compose service): every
TOCSIN_WATCHDOG_INTERVAL_SECONDS it reads heartbeats and the outbox from PostgreSQL,
raises or resolves the operator alerts, and delivers their due notifications itself.
A failing pass (database restarting) is logged and the next one runs; SIGTERM stops it
between passes.
"""

from __future__ import annotations

import logging
import signal
import threading

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import connections

from apps.operations.services import Watchdog

logger = logging.getLogger("apps.operations.watchdog")


class Command(BaseCommand):
    help = "Watch beat, workers and the outbox; alert the operator tenant when they stop."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="Run one pass and exit (for cron).")

    def handle(self, *args, **options):
        watchdog = Watchdog()
        if options["once"]:
            watchdog.run_once()
            return
        stopping = threading.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stopping.set())
        interval = settings.TOCSIN_WATCHDOG_INTERVAL_SECONDS
        logger.info("watchdog started", extra={"interval_seconds": interval,
                                               "operator_tenant": settings.TOCSIN_OPERATOR_TENANT})
        while not stopping.wait(interval):
            try:
                problems = watchdog.run_once()
            except Exception:  # the database may be restarting: log, keep watching
                logger.exception("watchdog pass failed")
                connections.close_all()
                continue
            if problems:
                logger.warning("platform problems", extra={"problems": [p.dedup_key for p in problems]})
        logger.info("watchdog stopped")
