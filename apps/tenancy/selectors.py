"""Read queries for tenancy. Every tenant-owned read takes the tenant."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from apps.tenancy.models import Membership, Site, Tenant


def site_list(*, tenant: Tenant) -> QuerySet[Site]:
    return Site.objects.for_tenant(tenant).order_by("name")


def site_get_by_location(*, tenant: Tenant, location_id: str) -> Site | None:
    return Site.objects.for_tenant(tenant).filter(location_id=location_id).first()


def membership_list_for_user(*, user) -> QuerySet[Membership]:
    return (Membership.objects.filter(user=user, tenant__is_active=True).select_related("tenant")
            .prefetch_related("sites"))


def members_covering_site(*, site: Site, roles) -> QuerySet[Membership]:
    """Memberships of the site's tenant holding one of `roles` that cover `site`: the
    whole tenant (`all_sites`) or that site among their chosen ones. Who "everyone with
    role X at this site" pages, so a Porto-only member is never paged for Lisbon."""
    return (
        Membership.objects.filter(tenant_id=site.tenant_id, role__in=list(roles), user__is_active=True)
        .filter(Q(all_sites=True) | Q(sites=site))
        .select_related("user")
        .distinct()
        .order_by("user__username")
    )
