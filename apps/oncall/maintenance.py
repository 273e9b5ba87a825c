"""Maintenance windows: planned work at a site during which alerts are recorded but page nobody.

Invariants: a window is bounded (it ends after it starts, within MAX_DAYS, its devices
of its own site, its kinds real ones); every change runs the window handlers in its
transaction, so the alerts it covers stop or resume paging with the change; and ending a
window early is an edit of its end, kept as history, never a delete of what happened.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from apps.alerts.models import AlertKind
from apps.audit.services import Actor, audit_record
from apps.common.errors import ApplicationError, ConflictError
from apps.common.rawsql import PreparedStatement
from apps.devices.models import Device
from apps.oncall.extension_points import run_window_handlers
from apps.oncall.models import MaintenanceWindow
from apps.tenancy.models import Site

MAX_DAYS = 31
MAX_AHEAD = timedelta(days=366)


def maintenance_validate(*, site: Site, starts_at: datetime, ends_at: datetime, devices: list[Device],
                         kinds: list[str], reason: str, creating: bool = False) -> None:
    """Raises ApplicationError naming the field (the admin's form calls this too)."""
    now = timezone.now()
    if abs(starts_at - now) > MAX_AHEAD:
        raise ApplicationError("A window starts within a year of now.", fields={"starts_at": ["out of range"]})
    if creating and ends_at <= now:
        raise ApplicationError("This window would be over already: it would hold nothing.",
                               fields={"ends_at": ["in the past"]})
    if ends_at <= starts_at:
        raise ApplicationError("A window ends after it starts.", fields={"ends_at": ["before start"]})
    if ends_at - starts_at > timedelta(days=MAX_DAYS):
        raise ApplicationError(f"A window lasts at most {MAX_DAYS} days.", fields={"ends_at": ["too long"]})
    if any(device.site_id != site.pk for device in devices):
        raise ApplicationError("Devices must be of the window's site.", fields={"devices": ["other site"]})
    if set(kinds) - set(AlertKind.values):
        raise ApplicationError("Unknown alert kind.", fields={"kinds": ["invalid"]})
    if not (reason or "").strip():
        raise ApplicationError("Say why (shown on the alerts it holds).", fields={"reason": ["required"]})


def _audit(window: MaintenanceWindow, actor: Actor, action: str) -> None:
    audit_record(tenant=window.tenant, actor=actor, action=action, target_type="maintenance_window",
                 target_id=window.public_id,
                 details={"site": window.site.public_id, "starts_at": window.starts_at.isoformat(),
                          "ends_at": window.ends_at.isoformat(), "kinds": window.kinds})


def maintenance_create(*, site: Site, starts_at: datetime, ends_at: datetime, reason: str, actor: Actor,
                       devices: list[Device] | None = None, kinds: list[str] | None = None,
                       user=None) -> MaintenanceWindow:
    devices, kinds = devices or [], sorted(set(kinds or []))
    maintenance_validate(site=site, starts_at=starts_at, ends_at=ends_at, devices=devices, kinds=kinds, reason=reason,
                         creating=True)
    window = MaintenanceWindow(tenant_id=site.tenant_id, site=site, starts_at=starts_at, ends_at=ends_at,
                               kinds=kinds, reason=reason.strip()[:300], created_by=user,
                               created_by_label=(actor.label or "")[:150])
    with transaction.atomic():
        window.save()
        window.devices.set(devices)
        _audit(window, actor, "maintenance.created")
        run_window_handlers(tenant_id=site.tenant_id, site_id=site.pk)
    return window


def maintenance_update(*, window: MaintenanceWindow, actor: Actor, **changes) -> MaintenanceWindow:
    """Changes start, end, reason, devices or kinds; the handlers re-time what it covers."""
    devices = changes.pop("devices", None)
    merged = {"starts_at": window.starts_at, "ends_at": window.ends_at, "reason": window.reason,
              "kinds": window.kinds, **changes}
    maintenance_validate(site=window.site, devices=devices if devices is not None else list(window.devices.all()),
                         **merged)
    for name, value in changes.items():
        setattr(window, name, sorted(set(value)) if name == "kinds" else value)
    with transaction.atomic():
        window.save()
        if devices is not None:
            window.devices.set(devices)
        _audit(window, actor, "maintenance.changed")
        run_window_handlers(tenant_id=window.tenant_id, site_id=window.site_id)
    return window


def maintenance_end(*, window: MaintenanceWindow, actor: Actor, now: datetime | None = None) -> MaintenanceWindow:
    """End now: what it held pages at the next escalation tick if still open."""
    now = now or timezone.now()
    if window.ends_at <= now:
        raise ConflictError("This window has already ended.", code="maintenance_over")
    if window.starts_at > now:  # not begun: ending it means it never happens
        return maintenance_update(window=window, actor=actor, ends_at=window.starts_at + timedelta(seconds=1))
    return maintenance_update(window=window, actor=actor,
                              ends_at=max(now, window.starts_at + timedelta(microseconds=1)))


def maintenance_delete(*, window: MaintenanceWindow, actor: Actor) -> None:
    """Only a window that has not begun: one that held alerts is history (end it instead)."""
    if window.starts_at <= timezone.now():
        raise ConflictError("This window has begun: end it instead, so its history stays.", code="maintenance_begun")
    with transaction.atomic():
        _audit(window, actor, "maintenance.deleted")
        tenant_id, site_id = window.tenant_id, window.site_id
        window.delete()
        run_window_handlers(tenant_id=tenant_id, site_id=site_id)


def covering_until_sql() -> str:
    """The query of `maintenance_until` with its parameters as $1 tenant, $2 site, $3 instant,
    $4 kind, $5 device: for a prepared statement, or as a subquery of a larger one."""
    windows = MaintenanceWindow._meta.db_table
    devices = MaintenanceWindow.devices.through._meta.db_table
    # `kinds` empty means every kind; no devices means every device of the site. A null
    # device ($5) matches only the windows that name no devices.
    return (f"SELECT max(w.ends_at) FROM {windows} w "  # noqa: S608
            f"WHERE w.tenant_id = $1 AND w.site_id = $2 AND w.starts_at <= $3 AND w.ends_at > $3 "
            f"AND (w.kinds = '[]'::jsonb OR w.kinds @> jsonb_build_array($4::text)) "
            f"AND (NOT EXISTS (SELECT 1 FROM {devices} d WHERE d.maintenancewindow_id = w.id) "
            f"OR EXISTS (SELECT 1 FROM {devices} d WHERE d.maintenancewindow_id = w.id AND d.device_id = $5))")


# Asked on every new alert and every escalation tick's alert: prepared once per connection.
COVERING_STATEMENT = PreparedStatement("tocsin_maintenance_until", covering_until_sql,
                                       argument_types="bigint, bigint, timestamptz, varchar, bigint")


def maintenance_until(*, tenant_id: int, site_id: int | None, device_id: int | None, kind: str,
                      at: datetime) -> datetime | None:
    """When the maintenance covering such an alert at `at` ends (the latest of the windows
    covering it), or None. One indexed query; the raise path and the tick call it."""
    if site_id is None:
        return None
    return COVERING_STATEMENT.fetchone(tenant_id, site_id, at, kind, device_id)[0]
