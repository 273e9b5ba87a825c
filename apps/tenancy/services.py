"""Writes for tenancy: tenants and sites.

Every write announces itself on `config_changed` inside its transaction, so the audit log
(a higher app) records it atomically with the change, whether it came from the API, the
admin or a command. A site with recorded history is archived, never deleted: its scans,
alerts and devices are evidence.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils import timezone as django_timezone
from django.utils.text import slugify

from apps.common.errors import ConflictError, ForbiddenError
from apps.tenancy.models import LegalHold, Membership, Role, Site, SiteKind, Tenant, Vertical
from apps.tenancy.signals import (
    config_changed,
    site_created,
    site_deprovisioning,
    site_disconnecting,
    site_history_requested,
    tenant_created,
)


def _changed(*, tenant: Tenant, actor, action: str, target_type: str, target_id: str,
             details: dict | None = None) -> None:
    config_changed.send(sender=Tenant, tenant=tenant, actor=actor, action=action, target_type=target_type,
                        target_id=target_id, details=details or {})


def tenant_create(*, name: str, vertical: str, slug: str | None = None, actor=None) -> Tenant:
    if vertical not in Vertical.values:
        raise ConflictError(f"Unknown vertical '{vertical}'.", code="invalid")
    slug = slug or slugify(name)[:60]
    try:
        with transaction.atomic():
            tenant = Tenant.objects.create(name=name, slug=slug, vertical=vertical)
            # Inside the transaction: a tenant never exists without what the listeners add.
            tenant_created.send(sender=Tenant, tenant=tenant)
            _changed(tenant=tenant, actor=actor, action="tenant.created", target_type="tenant",
                     target_id=tenant.public_id, details={"slug": slug, "vertical": vertical})
            return tenant
    except IntegrityError as exc:
        raise ConflictError(f"A tenant with slug '{slug}' already exists.") from exc


def tenant_update(*, tenant: Tenant, actor=None, **changes) -> Tenant:
    changed = sorted(field for field, value in changes.items() if getattr(tenant, field) != value)
    if "vertical" in changes and changes["vertical"] not in Vertical.values:
        raise ConflictError(f"Unknown vertical '{changes['vertical']}'.", code="invalid")
    for field, value in changes.items():
        setattr(tenant, field, value)
    try:
        with transaction.atomic():
            tenant.save()
            if changed:
                _changed(tenant=tenant, actor=actor, action="tenant.updated", target_type="tenant",
                         target_id=tenant.public_id, details={"fields": changed})
    except IntegrityError as exc:
        raise ConflictError(f"A tenant with slug '{tenant.slug}' already exists.") from exc
    return tenant


def tenant_two_factor_set(*, tenant: Tenant, required: bool, actor=None) -> Tenant:
    """Owners (and superusers) decide whether the tenant's members must sign in to the
    admin with TOTP (apps/tenancy/two_factor.py)."""
    if actor is not None and not actor.is_superuser and not Membership.objects.filter(
            tenant=tenant, user=actor, role=Role.OWNER).exists():
        raise ForbiddenError("Only the tenant's owners decide on two-factor sign-in.", code="role_required")
    with transaction.atomic():
        if Tenant.objects.filter(pk=tenant.pk).exclude(require_two_factor=required).update(
                require_two_factor=required):
            _changed(tenant=tenant, actor=actor, action="tenant.two_factor_changed", target_type="tenant",
                     target_id=tenant.public_id, details={"require_two_factor": required})
    tenant.refresh_from_db()
    return tenant


def site_create(
    *,
    tenant: Tenant,
    name: str,
    location_id: str,
    kind: str,
    timezone: str = "UTC",
    address: str = "",
    business_hours: dict | None = None,
    outage_threshold: int | None = None,
    outage_window_seconds: int | None = None,
    latitude: float | None = None,
    longitude: float | None = None,
    actor=None,
) -> Site:
    if kind not in SiteKind.values:
        raise ConflictError(f"Unknown site kind '{kind}'.", code="invalid")
    site = Site(
        tenant=tenant, name=name, location_id=location_id, kind=kind, timezone=timezone, address=address,
        latitude=latitude, longitude=longitude,
    )
    if business_hours is not None:
        site.business_hours = business_hours
    if outage_threshold is not None:
        site.outage_threshold = outage_threshold
    if outage_window_seconds is not None:
        site.outage_window_seconds = outage_window_seconds
    site.full_clean(exclude=["tenant"], validate_unique=False, validate_constraints=False)
    try:
        with transaction.atomic():
            site.save()
            site_created.send(sender=Site, site=site)
            _changed(tenant=tenant, actor=actor, action="site.created", target_type="site", target_id=site.public_id,
                     details={"location_id": location_id, "kind": kind})
    except IntegrityError as exc:
        raise ConflictError(f"Location id '{location_id}' is already used in this tenant.") from exc
    return site


def site_update(*, site: Site, actor=None, **changes) -> Site:
    if site.archived_at is not None:
        raise ConflictError("This site is archived (deprovisioned); its configuration no longer changes.",
                            code="site_archived")
    changed = sorted(field for field, value in changes.items() if getattr(site, field) != value)
    for field, value in changes.items():
        setattr(site, field, value)
    site.full_clean(exclude=["tenant"], validate_unique=False, validate_constraints=False)
    try:
        with transaction.atomic():
            site.save()
            if changed:
                _changed(tenant=site.tenant, actor=actor, action="site.updated", target_type="site",
                         target_id=site.public_id, details={"fields": changed})
    except IntegrityError as exc:
        raise ConflictError("Location id is already used in this tenant.") from exc
    return site


def site_history(*, site: Site) -> int:
    """How many kinds of recorded history still point at the site (0: it may be deleted)."""
    answers = site_history_requested.send(sender=Site, site=site)
    return int(LegalHold.objects.filter(site=site).exists()) + sum(int(count or 0) for _, count in answers)


def site_delete(*, site: Site, actor=None) -> str:
    """Deprovision a site: revoke its devices and setup tokens, then delete it if nothing
    recorded points at it, else archive it (its scans, alerts and devices are evidence).
    Returns "deleted" or "archived"; deleting never fails with a database error.
    """
    with transaction.atomic():
        site = Site.objects.select_for_update().get(pk=site.pk)
        site_disconnecting.send(sender=Site, site=site, actor=actor)
        site_deprovisioning.send(sender=Site, site=site, actor=actor)
        history = site_history(site=site)
        if history:
            if site.archived_at is None:
                site.archived_at = django_timezone.now()
                site.save(update_fields=["archived_at"])
            outcome = "archived"
        else:
            site.delete()
            outcome = "deleted"
        _changed(tenant=site.tenant, actor=actor, action=f"site.{outcome}", target_type="site",
                 target_id=site.public_id, details={"history_rows": history})
    return outcome
