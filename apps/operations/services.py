"""Writes of the platform's self-watch: heartbeats, and the watchdog's operator alerts.

Invariant: a platform problem reaches a person through the normal alert engine
(`alert_raise` in the operator tenant, its policies and channels), and its first delivery
does not depend on the part of the platform that failed: the watchdog runs outside Celery
and delivers the operator alert's due notifications itself, so "every worker stopped"
still pages someone. Deliveries are fenced by their claim, so a worker that also picks
one up never sends it twice.
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.conf import settings
from django.utils import timezone

from apps.alerts.models import OPEN_STATUSES, Alert
from apps.alerts.services import alert_raise, alert_resolve_open
from apps.audit.services import Actor
from apps.notifications.delivery import deliver
from apps.notifications.models import Notification, NotificationStatus
from apps.operations.models import Heartbeat
from apps.operations.selectors import PlatformProblem, platform_problems
from apps.tenancy.models import Tenant

logger = logging.getLogger(__name__)

PLATFORM_KEY_PREFIX = "platform:"
WATCHDOG_ACTOR = Actor.system("watchdog")


def heartbeat_record(*, name: str, kind: str, details: dict | None = None, at: datetime | None = None) -> None:
    """Upsert one heartbeat row (one statement; concurrent writers just overwrite)."""
    Heartbeat.objects.bulk_create(
        [Heartbeat(name=name[:200], kind=kind, seen_at=at or timezone.now(), details=details or {})],
        update_conflicts=True, unique_fields=["name"], update_fields=["kind", "seen_at", "details"])


def heartbeat_forget(*, name: str) -> None:
    """A worker that stops cleanly says so at once instead of going stale a minute later."""
    Heartbeat.objects.filter(name=name).delete()


def operator_tenant() -> Tenant | None:
    slug = settings.TOCSIN_OPERATOR_TENANT
    return Tenant.objects.filter(slug=slug).first() if slug else None


class Watchdog:
    """One pass every `TOCSIN_WATCHDOG_INTERVAL_SECONDS` (see `platform_watchdog`): raise an
    operator alert per open problem, resolve the ones that cleared, deliver what is due."""

    def __init__(self, *, started_at: datetime | None = None):
        # Periodic tasks that have never run are measured from the watchdog's start, so a
        # fresh installation is not paged before beat had a chance to run anything.
        self.started_at = started_at or timezone.now()
        self._warned_without_operator = False

    def run_once(self, *, now: datetime | None = None) -> list[PlatformProblem]:
        now = now or timezone.now()
        problems = platform_problems(now=now, since=self.started_at)
        tenant = operator_tenant()
        if tenant is None:
            self._log_without_operator(problems)
            return problems
        open_keys = set()
        for problem in problems:
            open_keys.add(problem.dedup_key)
            alert_raise(tenant=tenant, kind="custom", dedup_key=problem.dedup_key, severity="critical",
                        summary=problem.summary, source="system", details=problem.details, actor=WATCHDOG_ACTOR)
        for dedup_key in self._open_platform_keys(tenant) - open_keys:
            alert_resolve_open(tenant=tenant, dedup_key=dedup_key, resolution="restored",
                               note="The watchdog sees the platform healthy again.", actor=WATCHDOG_ACTOR)
        self._deliver_due(tenant, timezone.now())
        return problems

    @staticmethod
    def _open_platform_keys(tenant: Tenant) -> set[str]:
        return set(Alert.objects.filter(tenant=tenant, dedup_key__startswith=PLATFORM_KEY_PREFIX,
                                        status__in=OPEN_STATUSES)
                   .values_list("dedup_key", flat=True))

    @staticmethod
    def _deliver_due(tenant: Tenant, now: datetime) -> None:
        due = (Notification.objects.filter(tenant=tenant, alert__dedup_key__startswith=PLATFORM_KEY_PREFIX,
                                           status=NotificationStatus.PENDING, due_at__lte=now)
               .order_by("due_at").values_list("pk", flat=True)[:20])
        for notification_id in due:
            deliver(notification_id)

    def _log_without_operator(self, problems: list[PlatformProblem]) -> None:
        """Never silent: with no operator tenant configured, problems are logged at CRITICAL."""
        for problem in problems:
            logger.critical("platform problem (no operator tenant to alert; set TOCSIN_OPERATOR_TENANT)",
                            extra={"problem": problem.dedup_key, "summary": problem.summary})
        if not problems and not self._warned_without_operator:
            logger.warning("TOCSIN_OPERATOR_TENANT names no tenant: platform problems will only be logged",
                           extra={"operator_tenant": settings.TOCSIN_OPERATOR_TENANT})
            self._warned_without_operator = True

