"""Paging held: a snoozed alert, or one inside a maintenance window, pages nobody until then.

Invariants: a held alert is still recorded (raised, deduplicated, on the board, flagged
"in maintenance" or snoozed); its pending pages are cancelled when the hold begins; its
`next_escalation_at` is the hold's end, so the escalation tick (the database's clock, not a
countdown task) looks at it again then and, if it is still triggered and no other hold
covers it, starts a new paging cycle from the first step (people paged before the hold
are paged again). A window changed or ended early re-times the alerts at its site at once.
"""

from __future__ import annotations

from datetime import datetime

from django.db.models import Q
from django.utils import timezone

from apps.alerts.extension_points import announce_change
from apps.alerts.models import Alert, AlertEvent, AlertEventKind, AlertStatus
from apps.oncall.maintenance import maintenance_until

UNREAD = object()  # the maintenance covering the alert is read here


def hold_until(alert: Alert, now: datetime, *, maintenance: datetime | None | object = UNREAD,
               ) -> tuple[str, datetime] | None:
    """("snooze" | "maintenance", until) when paging is held at `now`, else None.
    `maintenance`: when the maintenance covering the alert at `now` ends, if the caller
    read it already (`routing.route_context`)."""
    held = []
    if alert.snoozed_until and alert.snoozed_until > now:
        held.append(("snooze", alert.snoozed_until))
    until = maintenance_until(tenant_id=alert.tenant_id, site_id=alert.site_id, device_id=alert.device_id,
                              kind=alert.kind, at=now) if maintenance is UNREAD else maintenance
    if until is not None:
        held.append(("maintenance", until))
    return max(held, key=lambda entry: entry[1]) if held else None


def was_held(alert: Alert) -> bool:
    return bool(alert.snoozed_until or alert.maintenance_until)


def _event(alert: Alert, kind: str, now: datetime, **data) -> None:
    AlertEvent.objects.create(tenant_id=alert.tenant_id, alert=alert, kind=kind, at=now, actor_type="system",
                              actor_label="notifications", data={"cycle": alert.paging_cycle, **data})


def hold(alert: Alert, why: str, until: datetime, now: datetime) -> None:
    """Hold paging until `until`; the caller saves the route (next_escalation_at, maintenance_until)."""
    from apps.notifications.escalation import cancel_pending_pages

    in_maintenance = why == "maintenance"
    if in_maintenance and alert.maintenance_until != until:
        _event(alert, AlertEventKind.MAINTENANCE, now, until=until.isoformat())
        announce_change(alert=alert, change="maintenance", actor_label="notifications")
    cancel_pending_pages(alert, reason=f"held ({why})")  # a no-op once held: nothing pending is left
    alert.maintenance_until = until if in_maintenance else alert.maintenance_until
    alert.next_escalation_at = until


def release(alert: Alert, now: datetime) -> None:
    """The hold is over: clear it and say so on the timeline (the caller starts a new cycle)."""
    why = "maintenance" if alert.maintenance_until else "snooze"
    alert.snoozed_until = None
    alert.maintenance_until = None
    _event(alert, AlertEventKind.RESUMED, now, after=why)
    announce_change(alert=alert, change="resumed", actor_label="notifications")


def save_hold(alert: Alert) -> None:
    Alert.objects.filter(pk=alert.pk).update(next_escalation_at=alert.next_escalation_at,
                                             maintenance_until=alert.maintenance_until,
                                             snoozed_until=alert.snoozed_until, updated_at=timezone.now())


def on_snoozed(alert: Alert) -> None:
    """Lifecycle reaction to a snooze (in its transaction): nothing pages until it ends."""
    hold(alert, "snooze", alert.snoozed_until, timezone.now())
    save_hold(alert)


def on_window_changed(*, tenant_id: int, site_id: int) -> None:
    """A window at this site began, moved or ended: let the next tick look again at every
    triggered alert there that is held or still escalating."""
    (Alert.objects.filter(tenant_id=tenant_id, site_id=site_id, status=AlertStatus.TRIGGERED)
     .filter(Q(maintenance_until__isnull=False) | Q(next_escalation_at__isnull=False))
     .update(next_escalation_at=timezone.now()))
