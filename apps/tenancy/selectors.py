"""Read queries for tenancy. Every tenant-owned read takes the tenant."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from apps.common.rawsql import PreparedStatement, hydrate, select_columns
from apps.tenancy.models import Membership, Site, Tenant


def site_list(*, tenant: Tenant) -> QuerySet[Site]:
    return Site.objects.for_tenant(tenant).order_by("name")


def site_get_by_location(*, tenant: Tenant, location_id: str) -> Site | None:
    return Site.objects.for_tenant(tenant).filter(location_id=location_id).first()


def _site_by_reference_sql() -> str:
    # A public id names one site; a location id is unique per tenant. Should one site's
    # location id spell another's public id, the public id wins.
    return (f"SELECT {select_columns(Site, 's')} FROM {Site._meta.db_table} s "  # noqa: S608
            f"WHERE s.tenant_id = $1 AND (s.public_id = $2 OR s.location_id = $2) "
            f"ORDER BY s.public_id = $2 DESC LIMIT 1")


# On the path of every event an integration sends (`POST /api/v1/events/`): prepared once
# per connection, the lookup costs a round trip and no query compilation.
SITE_BY_REFERENCE = PreparedStatement("tocsin_site_by_reference", _site_by_reference_sql,
                                      argument_types="bigint, varchar")


def site_get_by_reference(*, tenant: Tenant, reference: str) -> Site | None:
    """The tenant's site with this public id or location id (what a monitor knows of it)."""
    row = SITE_BY_REFERENCE.fetchone(tenant.pk, reference)
    if row is None:
        return None
    site = hydrate(Site, row)
    Site._meta.get_field("tenant").set_cached_value(site, tenant)
    return site


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
