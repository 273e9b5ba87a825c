"""Helpers for Prometheus collectors that read the database at scrape time."""

from __future__ import annotations

import asyncio


def in_event_loop() -> bool:
    """True inside a running asyncio loop (Flower serves /metrics from one): Django refuses
    synchronous database access there, so database-backed collectors yield nothing; the
    web's /metrics exports those figures."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True
