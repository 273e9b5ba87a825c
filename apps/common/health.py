"""Liveness and readiness probes.

`/healthz` says the process is alive and touches nothing. `/readyz` checks every
dependency a request or a task needs (PostgreSQL, Redis, the Celery broker) with a short
timeout each and answers 503 naming the ones that failed, so an orchestrator stops
routing traffic and an operator knows where to look. Higher apps add their own checks to
`READINESS_CHECKS` (the operations app adds beat, workers, outbox and dead letters). A
check fails by raising (`CheckFailed` carries figures), and may return figures or a
`warning` that is named in the answer without making it 503.
"""

from __future__ import annotations

import logging
import time

import redis
from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from kombu import Connection

logger = logging.getLogger(__name__)


class CheckFailed(Exception):
    """A readiness check failed for a reason worth showing, with its figures."""

    def __init__(self, message: str, **details):
        super().__init__(message)
        self.message = message
        self.details = details


def check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def check_redis() -> None:
    timeout = settings.TOCSIN_HEALTH_TIMEOUT_SECONDS
    client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=timeout, socket_timeout=timeout)
    try:
        client.ping()
    finally:
        client.close()


def check_broker() -> None:
    timeout = settings.TOCSIN_HEALTH_TIMEOUT_SECONDS
    with Connection(settings.CELERY_BROKER_URL, connect_timeout=timeout,
                    transport_options={"socket_connect_timeout": timeout}) as conn:
        conn.ensure_connection(max_retries=1, timeout=timeout)


READINESS_CHECKS = {"database": check_database, "redis": check_redis, "broker": check_broker}


@never_cache
def healthz(request):
    return JsonResponse({"status": "ok"})


@never_cache
def readyz(request):
    names = [name for name in request.GET.get("checks", "").split(",") if name] or None
    unknown = sorted(set(names or []) - set(READINESS_CHECKS))
    if unknown:
        return JsonResponse({"status": "error", "unknown_checks": unknown, "known": sorted(READINESS_CHECKS)},
                            status=400)
    results = run_checks(names)
    failed = [name for name, result in results.items() if not result["ok"]]
    warnings = [name for name, result in results.items() if result.get("warning")]
    body = {"status": "ok" if not failed else "unavailable", "failed": failed, "warnings": warnings,
            "checks": results}
    return JsonResponse(body, status=503 if failed else 200)


def run_checks(names: list[str] | None = None) -> dict[str, dict]:
    """name → {"ok", "ms" | "error", figures...} for every registered check (or those named:
    `/readyz?checks=database,redis,broker` is the web container's own health)."""
    results: dict[str, dict] = {}
    for name, check in READINESS_CHECKS.items():
        if names is not None and name not in names:
            continue
        started = time.perf_counter()
        try:
            figures = check() or {}
        except CheckFailed as exc:
            logger.warning("readiness check failed", extra={"check": name, "error": exc.message})
            results[name] = {"ok": False, "error": exc.message, **exc.details}
        except Exception as exc:  # any failure of a dependency means "not ready"
            logger.warning("readiness check failed", extra={"check": name, "error": type(exc).__name__})
            results[name] = {"ok": False, "error": type(exc).__name__}
        else:
            results[name] = {"ok": True, "ms": round((time.perf_counter() - started) * 1000, 1), **figures}
    return results
