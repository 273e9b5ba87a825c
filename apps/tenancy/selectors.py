"""Read queries for tenancy. Every tenant-owned read takes the tenant."""

from __future__ import annotations

from django.db.models import QuerySet

from apps.tenancy.models import Membership, Site, Tenant


def site_list(*, tenant: Tenant) -> QuerySet[Site]:
    return Site.objects.for_tenant(tenant).order_by("name")


def site_get_by_location(*, tenant: Tenant, location_id: str) -> Site | None:
    return Site.objects.for_tenant(tenant).filter(location_id=location_id).first()


def membership_list_for_user(*, user) -> QuerySet[Membership]:
    return Membership.objects.filter(user=user, tenant__is_active=True).select_related("tenant")
