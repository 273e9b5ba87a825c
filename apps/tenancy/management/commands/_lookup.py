"""Shared argument lookups for tenancy commands: clear CLI errors, never tracebacks."""

from django.core.management.base import CommandError
from django.db.models import Q

from apps.tenancy.models import Site, Tenant


def tenant_from_arg(reference: str) -> Tenant:
    tenant = Tenant.objects.filter(Q(slug=reference) | Q(public_id=reference)).first()
    if tenant is None:
        raise CommandError(f"No tenant with slug or id '{reference}'.")
    return tenant


def site_from_arg(reference: str, tenant: Tenant | None = None) -> Site:
    """A site by public id, or by location id (within --tenant when given)."""
    sites = Site.objects.select_related("tenant").filter(Q(public_id=reference) | Q(location_id=reference))
    if tenant is not None:
        sites = sites.filter(tenant=tenant)
    matches = list(sites[:2])
    if not matches:
        raise CommandError(f"No site with id or location id '{reference}'.")
    if len(matches) > 1:
        raise CommandError(f"Location id '{reference}' exists in several tenants; pass --tenant.")
    return matches[0]
