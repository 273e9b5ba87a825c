"""Demo tenants for `make run`: a hotel group, a retail chain and a solar operator, and
the operator tenant that receives the platform's own alerts (TOCSIN_OPERATOR_TENANT).

Idempotent: running it again reuses what exists and resets the demo passwords, so the
logins printed are always the ones that work.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.db import transaction

from apps.audit.services import Actor
from apps.devices.models import SetupToken
from apps.devices.setup_tokens import setup_token_create, setup_token_revoke
from apps.notifications.channels import channel_create
from apps.notifications.models import Channel, EscalationPolicy
from apps.notifications.policies import policy_save
from apps.tenancy import memberships
from apps.tenancy import services as tenancy
from apps.tenancy.models import Role, Site, Tenant

User = get_user_model()

DEMO_PASSWORD = "tocsin-demo"  # noqa: S105 (a demo login, printed by make run)
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


# The tenant the watchdog pages (beat or workers stopped, outbox backlog); `make run` sets
# TOCSIN_OPERATOR_TENANT to its slug. Paged by email (the console provider without SMTP).
OPERATOR_TENANT_NAME = "Tocsin operations"
OPERATOR_TENANT_SLUG = "tocsin-ops"
OPERATOR_CHANNEL = ("Platform on-call email", "email", "platform-oncall@tocsin.example")


def seed_operator_tenant() -> Tenant:
    """Idempotent: the operator tenant, its on-call channel and a catch-all policy."""
    actor = Actor.system("seed_demo")
    tenant = Tenant.objects.filter(slug=OPERATOR_TENANT_SLUG).first() or tenancy.tenant_create(
        name=OPERATOR_TENANT_NAME, vertical="energy", slug=OPERATOR_TENANT_SLUG)
    name, kind, target = OPERATOR_CHANNEL
    channel = (Channel.objects.filter(tenant=tenant, name=name).first()
               or channel_create(tenant=tenant, name=name, kind=kind, target=target, actor=actor))
    if not EscalationPolicy.objects.filter(tenant=tenant, name="Platform alerts").exists():
        policy_save(tenant=tenant, actor=actor, name="Platform alerts", severities=["critical"], priority=10,
                    steps=[{"delay_minutes": 0, "channels": [channel]}])
    return tenant


DEMO_TOKEN_LABEL = "demo fleet"  # noqa: S105 (a label, not a secret)
DEMO_TOKEN_USES = 100
DEMO_TOKEN_TTL = timedelta(days=30)


@dataclass
class SeededTenant:
    tenant: Tenant
    site: Site
    setup_token: str = ""
    logins: list[tuple[str, str]] = field(default_factory=list)

    def as_fleet_entry(self) -> dict:
        """One line of the simulator's setup-token file."""
        return {"setup_token": self.setup_token, "location_id": self.site.location_id,
                "site_kind": self.site.kind, "tenant": self.tenant.slug}


def _fresh_demo_token(site: Site) -> str:
    """Raw tokens aren't stored, so each seeding revokes the last demo token and issues a new one."""
    actor = Actor.system("seed_demo")
    for old in SetupToken.objects.filter(site=site, label=DEMO_TOKEN_LABEL, revoked_at__isnull=True):
        setup_token_revoke(setup_token=old, actor=actor)
    issued = setup_token_create(site=site, actor=actor, max_uses=DEMO_TOKEN_USES, ttl=DEMO_TOKEN_TTL,
                                label=DEMO_TOKEN_LABEL)
    return issued.token


def _user_with_password(username: str, *, superuser: bool = False):
    user, _ = User.objects.get_or_create(username=username, defaults={"email": f"{username}@example.com"})
    user.set_password(DEMO_PASSWORD)
    user.is_staff = True
    user.is_superuser = superuser
    user.save()
    return user


# Channels per vertical: (name, kind, target). Phone numbers are fictional (+351 21 000 ...).
DEMO_CHANNELS = {
    "hospitality": [("Security SMS", "sms", "+351210000101"), ("Security Slack", "slack", "#hotel-security"),
                    ("Manager email", "email", "manager@harbour-hotels.example")],
    "retail": [("Manager SMS", "sms", "+351210000202"), ("Store Slack", "slack", "#store-alerts"),
               ("Manager email", "email", "manager@corner-spirits.example")],
    "energy": [("On-call SMS", "sms", "+351210000303"), ("Plant Slack", "slack", "#plant-ops"),
               ("Operations email", "email", "ops@sunfield.example")],
}
# Policies per vertical: (name, kinds, [(delay minutes, [channel names])]), the defaults.
DEMO_POLICIES = {
    "hospitality": [("Room breach", ["breach"], [(0, ["Security SMS", "Security Slack"]), (5, ["Manager email"])])],
    "retail": [("Underage customer", ["underage"], [(0, ["Manager SMS"]), (2, ["Store Slack"])])],
    "energy": [("Plant telemetry", ["telemetry"], [(0, ["Plant Slack"]), (10, ["On-call SMS"])])],
}
SHARED_POLICIES = [("Low battery", ["battery"], "slack"), ("Device offline", ["offline"], "email")]


def _seed_notifications(tenant: Tenant) -> None:
    """Idempotent: channels and policies are created once, by name."""
    actor = Actor.system("seed_demo")
    channels = {}
    for name, kind, target in DEMO_CHANNELS[tenant.vertical]:
        channels[name] = (Channel.objects.filter(tenant=tenant, name=name).first()
                          or channel_create(tenant=tenant, name=name, kind=kind, target=target, actor=actor))
    by_kind = {channel.kind: channel for channel in channels.values()}
    specs = [(name, kinds, [(delay, [channels[n] for n in names]) for delay, names in steps])
             for name, kinds, steps in DEMO_POLICIES[tenant.vertical]]
    specs += [(name, kinds, [(0, [by_kind[kind]])]) for name, kinds, kind in SHARED_POLICIES]
    for priority, (name, kinds, steps) in enumerate(specs, start=10):
        if not EscalationPolicy.objects.filter(tenant=tenant, name=name).exists():
            policy_save(tenant=tenant, actor=actor, name=name, kinds=kinds, priority=priority,
                        steps=[{"delay_minutes": delay, "channels": chans} for delay, chans in steps])


@transaction.atomic
def seed_demo() -> list[SeededTenant]:
    _user_with_password(OPERATOR_USERNAME, superuser=True)
    seed_operator_tenant()
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
        _seed_notifications(tenant)
        entry = SeededTenant(tenant=tenant, site=site, setup_token=_fresh_demo_token(site))
        for username, role in ((spec.admin_username, Role.ADMIN), (spec.staff_username, Role.STAFF)):
            user = _user_with_password(username)
            memberships.membership_set(tenant=tenant, user=user, role=role)
            entry.logins.append((username, role))
        seeded.append(entry)
    return seeded
