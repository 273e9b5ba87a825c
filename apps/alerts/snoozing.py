"""Snoozing one alert: no page until a chosen time, then it pages again if still triggered.

Invariants: only a triggered alert is snoozed (an acknowledged one pages nobody anyway, a
resolved one is over); a snooze is bounded (in the future, at most MAX_SNOOZE ahead);
it is one write under the alert's row lock with its timeline event, its audit entry and
the lifecycle handler (the notification engine cancels pending pages and waits for the end),
so a snooze and a concurrent acknowledgement can't interleave. The acknowledgement paths
(web, API, admin, SMS "reply 3 to snooze 30 min", Slack) all call `alert_snooze`.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from apps.alerts.extension_points import Change, run_lifecycle_handlers
from apps.alerts.models import Alert, AlertEventKind, AlertStatus
from apps.alerts.services import _locked, _record
from apps.audit.services import Actor
from apps.common.errors import ApplicationError, ConflictError

MAX_SNOOZE = timedelta(days=7)
MIN_SNOOZE = timedelta(minutes=1)
VIA = frozenset({"web", "api", "admin", "board", "sms", "voice", "slack", "email", "teams"})


def alert_snooze(*, alert: Alert, actor: Actor, until: datetime, via: str = "web") -> Alert:
    """Hold this alert's paging until `until` (aware datetime). Snoozing again moves the end."""
    now = timezone.now()
    if until is None or timezone.is_naive(until):
        raise ApplicationError("Give the end of the snooze with its timezone.", fields={"until": ["naive"]})
    if until < now + MIN_SNOOZE or until > now + MAX_SNOOZE:
        raise ApplicationError("A snooze ends 1 minute to 7 days from now.", fields={"until": ["out of range"]})
    via = via if via in VIA else "api"
    with transaction.atomic():
        alert = _locked(alert)
        if alert.status != AlertStatus.TRIGGERED:
            raise ConflictError(f"Only a triggered alert can be snoozed; this one is {alert.status}.",
                                code="alert_not_triggered")
        alert.snoozed_until = until
        alert.save(update_fields=["snoozed_until", "updated_at"])
        _record(alert, kind=AlertEventKind.SNOOZED, actor=actor, note="", action="alert.snoozed",
                data={"until": until.isoformat(), "via": via})
        run_lifecycle_handlers(alert, Change.SNOOZED)
    return alert


def snooze_minutes(minutes: int) -> datetime:
    """The end of a snooze of `minutes` from now (for the 'snooze 30 min' buttons)."""
    return timezone.now() + timedelta(minutes=minutes)
