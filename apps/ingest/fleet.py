"""The drift rule: a device that has not reported what staff asked for within a set time.

Invariant: a device has a drift alert open exactly while `Device.shadow_drift_at` is set.
The sweep (beat) raises it for devices whose shadow has been pending longer than
TOCSIN_SHADOW_DRIFT_SECONDS and sets the column, under the row lock with SKIP LOCKED; the
shadow handler clears both in the transaction of the report (or desired edit) that makes
the documents converge, so the alert resolves the moment the device catches up.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from apps.alerts.models import AlertKind, AlertSource, Severity
from apps.alerts.services import alert_raise, alert_resolve_open
from apps.audit.services import Actor
from apps.devices.models import Device, DeviceStatus
from apps.devices.shadows import delta_of
from apps.ingest.rules import key


def clear_drift_if_converged(device: Device) -> None:
    """The shadow handler: the device's documents changed; resolve its drift if they now agree."""
    if device.shadow_drift_at is None or device.shadow_pending_since is not None:
        return
    alert_resolve_open(tenant=device.tenant, dedup_key=key("drift", device), resolution="auto",
                       note="The device reported the desired configuration.", actor=Actor.system("rules"))
    Device.objects.filter(pk=device.pk).update(shadow_drift_at=None)
    device.shadow_drift_at = None


def drift_sweep(*, now: datetime | None = None) -> dict[str, int]:
    """Raise drift for shadows pending too long; clear what converged some other way."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.TOCSIN_SHADOW_DRIFT_SECONDS)
    due = Device.objects.filter(status=DeviceStatus.ACTIVE, shadow_pending_since__lt=cutoff,
                                shadow_drift_at__isnull=True).values_list("pk", flat=True)
    raised = sum(_raise_drift(pk, cutoff, now) for pk in list(due[:500]))
    cleared = 0
    for pk in list(Device.objects.filter(shadow_drift_at__isnull=False, shadow_pending_since__isnull=True)
                   .values_list("pk", flat=True)[:500]):
        with transaction.atomic():
            device = (Device.objects.select_for_update(skip_locked=True).select_related("tenant")
                      .filter(pk=pk).first())
            if device is not None:
                clear_drift_if_converged(device)
                cleared += 1
    return {"drift_raised": raised, "drift_cleared": cleared}


def _raise_drift(device_id: int, cutoff: datetime, now: datetime) -> int:
    with transaction.atomic():
        device = (Device.objects.select_for_update(skip_locked=True).select_related("tenant", "site")
                  .filter(pk=device_id, shadow_pending_since__lt=cutoff, shadow_drift_at__isnull=True).first())
        if device is None:
            return 0
        delta = delta_of(device.desired_state, device.reported_state)
        waited = int((now - device.shadow_pending_since).total_seconds())
        alert_raise(tenant=device.tenant, kind=AlertKind.DRIFT, dedup_key=key("drift", device),
                    severity=Severity.WARNING, source=AlertSource.RULE, site=device.site, device=device,
                    summary=f"{device} has not applied its desired configuration after {waited // 60} min",
                    details={"keys": sorted(delta)[:50], "version": device.shadow_version,
                             "pending_since": device.shadow_pending_since.isoformat()},
                    actor=Actor.system("rules"))
        Device.objects.filter(pk=device.pk).update(shadow_drift_at=now)
    return 1
