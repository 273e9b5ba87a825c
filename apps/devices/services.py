"""Staff operations on devices: rename, move, revoke, re-admit.

Re-admitting is the one way staff let a device be re-keyed without its current key (a
replaced or re-imaged device, a legacy tablet that lost its credential) and the only way
back for a revoked one: it names the device, is audited, and opens a short window for
that hardware id's next enrolment only.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from apps.audit.services import Actor, audit_record
from apps.common.errors import ApplicationError
from apps.devices import shadows
from apps.devices.locations import clean_bssids, clean_location_label
from apps.devices.models import Device, DeviceStatus, SetupToken
from apps.devices.setup_tokens import setup_token_revoke
from apps.devices.signals import device_history_requested
from apps.tenancy.models import Site

# Superseded legacy refresh credentials are remembered this long, to catch their replay.
REFRESH_CREDENTIAL_MEMORY_DAYS = 90


def device_update(*, device: Device, actor: Actor, name: str | None = None, site: Site | None = None,
                  desired_state: dict | None = None, location_label: str | None = None,
                  allowed_bssids: list[str] | None = None) -> Device:
    """None leaves a field as it is. `allowed_bssids` replaces that entry of the desired state."""
    changes = {}
    if name is not None and name != device.name:
        changes["name"] = name
    if location_label is not None:
        location_label = clean_location_label(location_label)
        if location_label != device.location_label:
            changes["location_label"] = location_label
    if allowed_bssids is not None:
        bssids = clean_bssids(allowed_bssids)
        base = {key: value for key, value in (desired_state if desired_state is not None
                                              else device.desired_state).items() if key != "allowed_bssids"}
        desired_state = {**base, "allowed_bssids": bssids} if bssids else base
    if desired_state is not None and desired_state != device.desired_state:
        changes["desired_state"] = desired_state
    if site is not None and site.pk != device.site_id:
        if site.tenant_id != device.tenant_id:
            raise ApplicationError("A device can only move to a site of its own tenant.")
        if site.archived_at is not None:
            raise ApplicationError("That site is archived (deprovisioned).", fields={"site": ["archived"]})
        changes["site"] = site
    if not changes:
        return device
    # The desired state is the device's shadow: changed through it, so it is versioned,
    # stamped per key and delivered (next heartbeat answer, or the delta topic).
    desired = changes.pop("desired_state", None)
    with transaction.atomic():
        if changes:
            Device.objects.filter(pk=device.pk).update(**changes)
            audit_record(tenant=device.tenant, actor=actor, action="device.updated", target_type="device",
                         target_id=device.public_id,
                         details={key: (value.public_id if isinstance(value, Site) else value)
                                  for key, value in changes.items()})
        if desired is not None:
            shadows.shadow_desired_replace(device=device, actor=actor, desired=desired)
    device.refresh_from_db()
    return device


def device_revoke(*, device: Device, actor: Actor, reason: str = "", revoked_by=None) -> Device:
    """Bump the token version (every token dies on its next use) and mark the device revoked.
    A re-admit still open is withdrawn: revoking is the later decision."""
    with transaction.atomic():
        Device.objects.filter(pk=device.pk).update(
            status=DeviceStatus.REVOKED, token_version=F("token_version") + 1, revoked_at=timezone.now(),
            revoked_by=revoked_by, revoke_reason=reason[:200], readmit_until=None,
        )
        audit_record(tenant=device.tenant, actor=actor, action="device.revoked", target_type="device",
                     target_id=device.public_id, details={"reason": reason[:200]})
    device.refresh_from_db()
    return device


def device_delete(*, device: Device, actor: Actor) -> str:
    """Revoke the device, then delete it if nothing recorded points at it, else archive it:
    its scans, health samples and alerts are evidence and keep their source. Returns
    "deleted" or "archived"."""
    with transaction.atomic():
        device = Device.objects.select_for_update().get(pk=device.pk)
        if device.status != DeviceStatus.REVOKED:
            device = device_revoke(device=device, actor=actor, reason="deleted")
        history = device_history(device=device)
        if history:
            if device.archived_at is None:
                Device.objects.filter(pk=device.pk).update(archived_at=timezone.now())
            outcome = "archived"
        else:
            device.delete()
            outcome = "deleted"
        audit_record(tenant=device.tenant, actor=actor, action=f"device.{outcome}", target_type="device",
                     target_id=device.public_id, details={"history_rows": history})
    return outcome


def site_deprovision_devices(*, site: Site, actor: Actor) -> None:
    """A site being deprovisioned: its setup tokens are revoked and its devices deleted or
    archived (the archived ones keep the site as history)."""
    for token in SetupToken.objects.filter(site=site, revoked_at__isnull=True):
        setup_token_revoke(setup_token=token, actor=actor)
    for device in Device.objects.filter(site=site, archived_at__isnull=True):
        device_delete(device=device, actor=actor)


def device_history(*, device: Device) -> int:
    """How many kinds of recorded history still point at the device (0: it may be deleted)."""
    return sum(int(count or 0) for _, count in device_history_requested.send(sender=Device, device=device))


def device_readmit(*, device: Device, actor: Actor, reason: str) -> Device:
    """Let the next enrolment (or legacy registration) of this hardware id re-key the device
    within TOCSIN_READMIT_TTL_HOURS. Current tokens keep working until that happens."""
    reason = reason.strip()[:200]
    if device.archived_at is not None:
        raise ApplicationError("This device was deleted and is kept only as history; enrol a new one.",
                               code="device_archived")
    if not reason:
        raise ApplicationError("Say why the device is re-admitted.", fields={"reason": ["This field is required."]})
    until = timezone.now() + timedelta(hours=settings.TOCSIN_READMIT_TTL_HOURS)
    with transaction.atomic():
        Device.objects.filter(pk=device.pk).update(readmit_until=until)
        audit_record(tenant=device.tenant, actor=actor, action="device.readmitted", target_type="device",
                     target_id=device.public_id,
                     details={"reason": reason, "until": until, "status": device.status})
    device.refresh_from_db()
    return device


def credentials_purge_expired(*, now=None, grace_days: int = 30) -> dict[str, int]:
    """Housekeeping: challenges and enrolments are useless once expired; setup tokens are
    kept for `grace_days` after expiry so staff can still see what was issued."""
    from apps.devices.models import DeviceChallenge, DeviceRefreshCredential, Enrollment, SetupToken

    now = now or timezone.now()
    return {
        # Old enough that a replay of one is no longer worth recognising.
        "refresh_credentials": DeviceRefreshCredential.objects.filter(
            superseded_at__lt=now - timedelta(days=REFRESH_CREDENTIAL_MEMORY_DAYS)).delete()[0],
        "challenges": DeviceChallenge.objects.filter(expires_at__lt=now).delete()[0],
        "enrollments": Enrollment.objects.filter(expires_at__lt=now - timedelta(days=1)).delete()[0],
        "setup_tokens": SetupToken.objects.filter(expires_at__lt=now - timedelta(days=grace_days))
        .exclude(enrollments__completed_at__isnull=False).delete()[0],
    }
