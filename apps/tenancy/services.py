"""Writes for tenancy: tenants, sites, memberships.

Memberships change only here (API, admin and `manage.py add_member` alike), so one rule
holds everywhere: a person acting on a tenant's members must be its owner or admin, and
can neither grant a role above their own, nor change or remove the membership of someone
who outranks them, nor raise their own role. Superusers and operators at the command line
(no acting person) are not bound by it.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError, RestrictedError
from django.utils.text import slugify

from apps.common.errors import ConflictError, ForbiddenError, blocked_delete_error
from apps.tenancy.models import MANAGER_ROLES, ROLE_RANK, Membership, Role, Site, SiteKind, Tenant, Vertical
from apps.tenancy.signals import membership_changed, membership_removed, tenant_created

User = get_user_model()


def tenant_create(*, name: str, vertical: str, slug: str | None = None) -> Tenant:
    if vertical not in Vertical.values:
        raise ConflictError(f"Unknown vertical '{vertical}'.", code="invalid")
    slug = slug or slugify(name)[:60]
    try:
        with transaction.atomic():
            tenant = Tenant.objects.create(name=name, slug=slug, vertical=vertical)
            # Inside the transaction: a tenant never exists without what the listeners add.
            tenant_created.send(sender=Tenant, tenant=tenant)
            return tenant
    except IntegrityError as exc:
        raise ConflictError(f"A tenant with slug '{slug}' already exists.") from exc


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
) -> Site:
    if kind not in SiteKind.values:
        raise ConflictError(f"Unknown site kind '{kind}'.", code="invalid")
    site = Site(
        tenant=tenant, name=name, location_id=location_id, kind=kind, timezone=timezone, address=address
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
    except IntegrityError as exc:
        raise ConflictError(f"Location id '{location_id}' is already used in this tenant.") from exc
    return site


def site_update(*, site: Site, **changes) -> Site:
    for field, value in changes.items():
        setattr(site, field, value)
    site.full_clean(exclude=["tenant"], validate_unique=False, validate_constraints=False)
    try:
        with transaction.atomic():
            site.save()
    except IntegrityError as exc:
        raise ConflictError("Location id is already used in this tenant.") from exc
    return site


def site_delete(*, site: Site) -> None:
    """Deletes a site with what belongs only to it; a site that devices (or other protected
    rows) still refer to stays, and the ConflictError says what blocks it."""
    try:
        with transaction.atomic():
            site.delete()
    except (ProtectedError, RestrictedError) as exc:
        raise blocked_delete_error(exc) from exc


def user_get_or_create(*, username: str, email: str = "", password: str | None = None):
    user, created = User.objects.get_or_create(username=username, defaults={"email": email})
    if created:
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.save()
    return user, created


def membership_check(*, tenant: Tenant, user, role: str | None, actor=None) -> None:
    """Refuses (403) what `actor` may not do to `user`'s membership of `tenant`: set it to
    `role`, or remove it when `role` is None. The admin's forms ask first, to show the
    refusal beside the field; the writes below ask again, and their answer is the one
    that counts."""
    if role is not None and role not in Role.values:
        raise ConflictError(f"Unknown role '{role}'.", code="invalid", fields={"role": ["Unknown role."]})
    if actor is None or actor.is_superuser:
        return
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


def membership_set(*, tenant: Tenant, user, role: str, actor=None) -> Membership:
    """Adds the user to the tenant or changes their role; idempotent. `actor` is the person
    doing it (None: an operator at the command line)."""
    with transaction.atomic():
        if actor is not None:
            # Serialises concurrent changes by the same person, so two requests cannot each
            # pass the check against a role the other is changing.
            list(Membership.objects.select_for_update().filter(tenant=tenant, user=actor))
        membership_check(tenant=tenant, user=user, role=role, actor=actor)
        membership, created = Membership.objects.update_or_create(
            tenant=tenant, user=user, defaults={"role": role}
        )
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
