"""Demo tenants for `make run`: a hotel group, a retail chain and a solar operator.

Idempotent: running it again reuses what exists and resets the demo passwords, so the
logins printed are always the ones that work.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.db import transaction

from apps.tenancy import services as tenancy
from apps.tenancy.models import Role, Site, Tenant

User = get_user_model()

DEMO_PASSWORD = "tocsin-demo"
OPERATOR_USERNAME = "operator"


@dataclass(frozen=True)
class DemoSite:
    name: str
    location_id: str
    kind: str
    timezone: str
    address: str


@dataclass(frozen=True)
class DemoTenant:
    name: str
    slug: str
    vertical: str
    site: DemoSite
    admin_username: str
    staff_username: str


DEMO_TENANTS = (
    DemoTenant(
        name="Harbour Hotels", slug="harbour-hotels", vertical="hospitality",
        site=DemoSite("Harbour Hotel Lisbon", "HHL-01", "hotel", "Europe/Lisbon", "Rua do Cais 1, Lisboa"),
        admin_username="hotel-admin", staff_username="hotel-security",
    ),
    DemoTenant(
        name="Corner Spirits", slug="corner-spirits", vertical="retail",
        site=DemoSite("Corner Spirits Austin", "CS-ATX-1", "store", "America/Chicago", "100 Congress Ave, Austin TX"),
        admin_username="store-admin", staff_username="store-manager",
    ),
    DemoTenant(
        name="Sunfield Energy", slug="sunfield-energy", vertical="energy",
        site=DemoSite("Sunfield Plant Alentejo", "SF-ALT-1", "plant", "Europe/Lisbon", "Herdade do Sol, Alentejo"),
        admin_username="plant-admin", staff_username="plant-operator",
    ),
)


@dataclass
class SeededTenant:
    tenant: Tenant
    site: Site
    logins: list[tuple[str, str]] = field(default_factory=list)


def _user_with_password(username: str, *, superuser: bool = False):
    user, _ = User.objects.get_or_create(username=username, defaults={"email": f"{username}@example.com"})
    user.set_password(DEMO_PASSWORD)
    user.is_staff = True
    user.is_superuser = superuser
    user.save()
    return user


@transaction.atomic
def seed_demo() -> list[SeededTenant]:
    _user_with_password(OPERATOR_USERNAME, superuser=True)
    seeded = []
    for spec in DEMO_TENANTS:
        tenant = Tenant.objects.filter(slug=spec.slug).first() or tenancy.tenant_create(
            name=spec.name, vertical=spec.vertical, slug=spec.slug
        )
        site = Site.objects.filter(tenant=tenant, location_id=spec.site.location_id).first()
        if site is None:
            site = tenancy.site_create(
                tenant=tenant, name=spec.site.name, location_id=spec.site.location_id,
                kind=spec.site.kind, timezone=spec.site.timezone, address=spec.site.address,
            )
        entry = SeededTenant(tenant=tenant, site=site)
        for username, role in ((spec.admin_username, Role.ADMIN), (spec.staff_username, Role.STAFF)):
            user = _user_with_password(username)
            tenancy.membership_set(tenant=tenant, user=user, role=role)
            entry.logins.append((username, role))
        seeded.append(entry)
    return seeded
