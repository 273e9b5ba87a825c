"""Writes for tenancy: tenants, sites, memberships.

Memberships change only here (API, admin and `manage.py add_member` alike), so one rule
holds everywhere: a person acting on a tenant's members must be its owner or admin, and
can neither grant a role above their own, nor change or remove the membership of someone
who outranks them, nor raise their own role. Superusers and operators at the command line
(no acting person) are not bound by it.

Every write announces itself on `config_changed` inside its transaction, so the audit log
(a higher app) records it atomically with the change, whether it came from the API, the
admin or a command.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone as django_timezone
from django.utils.text import slugify

from apps.common.errors import ConflictError, ForbiddenError
from apps.tenancy.models import (
    MANAGER_ROLES,
    ROLE_RANK,
    LegalHold,
    Membership,
    RetainedTable,
    RetentionPolicy,
    Role,
    Site,
    SiteKind,
    Tenant,
    Vertical,
)
from apps.tenancy.signals import (
    config_changed,
    membership_changed,
    membership_removed,
    site_deprovisioning,
    site_disconnecting,
    site_history_requested,
    tenant_created,
)
from apps.tenancy.site_grants import SiteGrant, grant_check, grant_resolve

User = get_user_model()


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


def user_get_or_create(*, username: str, email: str = "", password: str | None = None):
    user, created = User.objects.get_or_create(username=username, defaults={"email": email})
    if created:
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.save()
    return user, created


def membership_check(*, tenant: Tenant, user, role: str | None, actor=None, all_sites: bool | None = None,
                     sites=None) -> SiteGrant | None:
    """Refuses (403) what `actor` may not do to `user`'s membership of `tenant`: set it to
    `role` and to cover `all_sites` or `sites` (None: as it is; a new one: every site), or
    remove it when `role` is None. Answers the sites it is to cover. The admin's forms ask
    first, to show the refusal beside the field; the writes below ask again, and their
    answer is the one that counts."""
    if role is not None and role not in Role.values:
        raise ConflictError(f"Unknown role '{role}'.", code="invalid", fields={"role": ["Unknown role."]})
    target = Membership.objects.filter(tenant=tenant, user=user).first() if user.pk else None
    grant = None if role is None else grant_resolve(tenant=tenant, current=target, all_sites=all_sites, sites=sites)
    if actor is None or actor.is_superuser:
        return grant
    grant_check(actor_membership=Membership.objects.filter(tenant=tenant, user=actor).first(), target=target,
                grant=grant)
    roles = dict(Membership.objects.filter(tenant=tenant, user__in=[actor.pk, user.pk])
                 .values_list("user_id", "role"))
    own, current = roles.get(actor.pk), roles.get(user.pk)
    if own not in MANAGER_ROLES:
        raise ForbiddenError("Only the tenant's owners and admins manage its members.", code="role_required")
    if user.pk == actor.pk and role is not None and current is not None and ROLE_RANK[role] > ROLE_RANK[current]:
        raise ForbiddenError("You cannot raise your own role.", code="self_promotion",
                             fields={"role": ["You cannot raise your own role."]})
    if role is not None and ROLE_RANK[role] > ROLE_RANK[own]:
        raise ForbiddenError("You cannot grant a role above your own.", code="role_above_own",
                             fields={"role": [f"At most {own}."]})
    if current is not None and ROLE_RANK[current] > ROLE_RANK[own]:
        raise ForbiddenError("You cannot change the membership of someone whose role is above your own.",
                             code="role_above_own")
    return grant


def membership_set(*, tenant: Tenant, user, role: str, actor=None, all_sites: bool | None = None,
                   sites=None) -> Membership:
    """Adds the user to the tenant or changes their role and sites; idempotent. `all_sites`
    and `sites` (Site rows of the tenant) left None keep what the membership covers (a new
    one covers every site). `actor` is the person doing it (None: an operator at the
    command line)."""
    with transaction.atomic():
        if actor is not None:
            # Serialises concurrent changes by the same person, so two requests cannot each
            # pass the check against a role the other is changing.
            list(Membership.objects.select_for_update().filter(tenant=tenant, user=actor))
        grant = membership_check(tenant=tenant, user=user, role=role, actor=actor, all_sites=all_sites,
                                 sites=sites)
        membership, created = Membership.everyone.update_or_create(
            tenant=tenant, user=user, defaults={"role": role, "all_sites": grant.all_sites}
        )
        membership.sites.set(sorted(grant.site_ids))
        if not user.is_staff:
            # Members reach the admin for their own tenants; scoping keeps them there.
            User.objects.filter(pk=user.pk).update(is_staff=True)
        # Sent inside the transaction: the audit entry commits with the change or not at all.
        membership_changed.send(sender=Membership, membership=membership, created=created, actor=actor)
    return membership


def membership_remove(*, membership: Membership, actor=None) -> None:
    with transaction.atomic():
        membership_check(tenant=membership.tenant, user=membership.user, role=None, actor=actor)
        membership.delete()
        membership_removed.send(sender=Membership, membership=membership, actor=actor)


def retention_policy_set(*, tenant: Tenant, table: str, days: int, actor=None) -> RetentionPolicy:
    if table not in RetainedTable.values:
        raise ConflictError(f"Unknown table '{table}'.", code="invalid", fields={"table": ["unknown"]})
    if not 1 <= days <= 36500:
        raise ConflictError("Days must be between 1 and 36500.", code="invalid", fields={"days": ["out of range"]})
    with transaction.atomic():
        policy, _ = RetentionPolicy.objects.update_or_create(tenant=tenant, table=table, defaults={"days": days})
        _changed(tenant=tenant, actor=actor, action="retention.set", target_type="retention",
                 target_id=policy.public_id, details={"table": table, "days": days})
    return policy


def retention_policy_delete(*, policy: RetentionPolicy, actor=None) -> None:
    """Back to the platform default."""
    with transaction.atomic():
        policy.delete()
        _changed(tenant=policy.tenant, actor=actor, action="retention.reset", target_type="retention",
                 target_id=policy.public_id, details={"table": policy.table})


def legal_hold_place(*, tenant: Tenant, reason: str, site: Site | None = None, actor=None) -> LegalHold:
    reason = (reason or "").strip()
    if not reason:
        raise ConflictError("Say why the data is held.", code="invalid", fields={"reason": ["required"]})
    if site is not None and site.tenant_id != tenant.pk:
        raise ConflictError("That site belongs to another tenant.", code="invalid", fields={"site": ["invalid"]})
    with transaction.atomic():
        hold = LegalHold.objects.create(tenant=tenant, site=site, reason=reason[:300],
                                        placed_by=getattr(actor, "username", "") or getattr(actor, "label", ""))
        _changed(tenant=tenant, actor=actor, action="legal_hold.placed", target_type="legal_hold",
                 target_id=hold.public_id, details={"site": site.public_id if site else None})
    return hold


def legal_hold_release(*, hold: LegalHold, actor=None) -> LegalHold:
    with transaction.atomic():
        if LegalHold.objects.filter(pk=hold.pk, released_at__isnull=True).update(released_at=django_timezone.now()):
            _changed(tenant=hold.tenant, actor=actor, action="legal_hold.released", target_type="legal_hold",
                     target_id=hold.public_id, details={"site": hold.site.public_id if hold.site else None})
    hold.refresh_from_db()
    return hold
