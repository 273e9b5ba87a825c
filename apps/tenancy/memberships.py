"""Writes for memberships: who belongs to a tenant, with which role, over which sites.

Memberships change only here (API, admin and `manage.py add_member` alike), so one rule
holds everywhere: a person acting on a tenant's members must be its owner or admin, and
can neither grant a role above their own, nor change or remove the membership of someone
who outranks them, nor raise their own role. Superusers and operators at the command line
(no acting person) are not bound by it. Each change is announced (`membership_changed`,
`membership_removed`) inside its transaction, so the audit entry commits with it.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import transaction

from apps.common.errors import ConflictError, ForbiddenError
from apps.tenancy.models import MANAGER_ROLES, ROLE_RANK, Membership, Role, Tenant
from apps.tenancy.signals import membership_changed, membership_removed
from apps.tenancy.site_grants import SiteGrant, grant_check, grant_resolve

User = get_user_model()


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
