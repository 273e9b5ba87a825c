"""Which tenant a request acts for, and with which role.

People with one membership act for that tenant. People with several (and superusers)
name the tenant per request in the `X-Tenant` header, by public id or slug. A tenant
the caller doesn't belong to is answered exactly like one that doesn't exist.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q

from apps.common.errors import ApplicationError, NotFoundError
from apps.tenancy.models import Membership, Role, Tenant
from apps.tenancy.scoping import Scope, scope_for_membership

TENANT_HEADER = "X-Tenant"
# The role an API key acts with: none of the people's roles, so role checks refuse it
# and only the scopes of the key decide (see TenantScopedViewMixin).
INTEGRATION_ROLE = "integration"


@dataclass(frozen=True)
class TenantContext:
    """The tenant a request acts for, the caller's role there, and their scope inside it
    (apps.tenancy.scoping): the whole tenant unless a membership limits it to some sites."""

    tenant: Tenant
    role: str
    scope: Scope | None = None  # None: the whole tenant (set in __post_init__)

    def __post_init__(self):
        if self.scope is None:
            object.__setattr__(self, "scope", scope_for_membership(None, tenant=self.tenant))

    def has_role(self, roles) -> bool:
        return self.role in roles


class TenantChoiceRequired(ApplicationError):
    code = "tenant_required"


def _find_tenant(reference: str) -> Tenant | None:
    return Tenant.objects.filter(Q(public_id=reference) | Q(slug=reference), is_active=True).first()


def resolve_tenant_context(*, user, requested: str | None) -> TenantContext:
    if requested:
        requested = requested.strip()
        tenant = _find_tenant(requested)
        if tenant is None:
            raise NotFoundError("Tenant not found.")
        if user.is_superuser:
            return TenantContext(tenant=tenant, role=Role.OWNER)
        membership = Membership.objects.filter(user=user, tenant=tenant).only("role", "all_sites").first()
        if membership is None:
            raise NotFoundError("Tenant not found.")
        return _context(tenant, membership)

    memberships = list(
        Membership.objects.filter(user=user, tenant__is_active=True).select_related("tenant")[:2]
    )
    if len(memberships) == 1:
        return _context(memberships[0].tenant, memberships[0])
    if not memberships and not user.is_superuser:
        raise NotFoundError("You are not a member of any tenant.")
    raise TenantChoiceRequired(
        f"You belong to several tenants: name one in the {TENANT_HEADER} header (public id or slug)."
    )


def _context(tenant: Tenant, membership: Membership) -> TenantContext:
    return TenantContext(tenant=tenant, role=membership.role,
                         scope=scope_for_membership(membership, tenant=tenant))


def tenant_ids_for_user(user) -> list[int]:
    """Ids of the tenants a user may see in the admin (superusers: handled by callers)."""
    return list(Membership.objects.filter(user=user).values_list("tenant_id", flat=True))


def tenant_ids_where_role(user, roles) -> list[int]:
    return list(Membership.objects.filter(user=user, role__in=roles).values_list("tenant_id", flat=True))
