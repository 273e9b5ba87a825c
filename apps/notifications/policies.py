"""Writing escalation policies with their steps, in one transaction.

Invariants: a policy always has 1 to MAX_STEPS steps, each with at least one target of
the policy's tenant (a channel, a member, a roster, the site's roster or a role at the
site), in order of their delay (the API, the admin and commands all come
through `policy_save`, so none can make a policy that swallows alerts); a tenant always
keeps at least one enabled policy.
"""

from __future__ import annotations

from django.db import transaction

from apps.alerts.models import AlertKind, Severity
from apps.audit.services import Actor, audit_record
from apps.common.errors import ApplicationError, ConflictError
from apps.notifications.models import Channel, EscalationPolicy, EscalationStep
from apps.notifications.routing import bump_routing_version
from apps.tenancy.models import Role, Site, Tenant

MAX_STEPS = 10


def policy_validate(*, tenant: Tenant, kinds: list[str], severities: list[str], steps: list[dict],
                    sites: list[Site] | None = None) -> None:
    """Raises ApplicationError naming the field; the admin's forms call this too."""
    if set(kinds) - set(AlertKind.values):
        raise ApplicationError("Unknown alert kind.", fields={"kinds": ["invalid"]})
    if set(severities) - set(Severity.values):
        raise ApplicationError("Unknown severity.", fields={"severities": ["invalid"]})
    if any(site.tenant_id != tenant.pk for site in sites or []):
        raise ApplicationError("Sites must be of this tenant.", fields={"sites": ["invalid"]})
    if not 1 <= len(steps) <= MAX_STEPS:
        raise ApplicationError(f"A policy needs 1 to {MAX_STEPS} steps: without one it would page nobody.",
                               fields={"steps": ["count"]})
    delays = [step["delay_minutes"] for step in steps]
    if delays != sorted(delays):
        raise ApplicationError("Steps must be in order of their delay.", fields={"steps": ["order"]})
    for step in steps:
        _validate_targets(tenant, step)


def _validate_targets(tenant: Tenant, step: dict) -> None:
    channels, users, rosters = step.get("channels") or [], step.get("users") or [], step.get("rosters") or []
    roles = step.get("site_roles") or []
    if not (channels or users or rosters or step.get("site_roster") or roles):
        raise ApplicationError("Each step needs someone to page: channels, people, a roster or a role.",
                               fields={"steps": ["channels"]})
    if any(channel.tenant_id != tenant.pk or channel.personal for channel in channels):
        raise ApplicationError("Each step needs channels of this tenant.", fields={"steps": ["channels"]})
    members = set(tenant.memberships.filter(user__in=users).values_list("user_id", flat=True)) if users else set()
    if any(user.pk not in members for user in users):
        raise ApplicationError("Step people must be members of this tenant.", fields={"steps": ["users"]})
    if any(roster.tenant_id != tenant.pk for roster in rosters):
        raise ApplicationError("Step rosters must be of this tenant.", fields={"steps": ["rosters"]})
    if set(roles) - set(Role.values):
        raise ApplicationError("Unknown role.", fields={"steps": ["site_roles"]})


def _lock_tenant_policies(tenant_id: int) -> None:
    """Serialises changes that could leave a tenant without an enabled policy."""
    list(EscalationPolicy.objects.select_for_update().filter(tenant_id=tenant_id).values_list("pk", flat=True))


def keeps_an_enabled_policy(policy: EscalationPolicy) -> bool:
    """Whether the tenant has an enabled policy besides this one."""
    return EscalationPolicy.objects.filter(tenant_id=policy.tenant_id, enabled=True).exclude(pk=policy.pk).exists()


def ensure_not_last_enabled(policy: EscalationPolicy) -> None:
    if policy.pk and not keeps_an_enabled_policy(policy):
        raise ConflictError("This is the tenant's last enabled policy: without it alerts would page nobody.",
                            code="last_policy")


def policy_save(*, tenant: Tenant, actor: Actor, name: str, steps: list[dict], kinds: list[str] | None = None,
                severities: list[str] | None = None, sites: list[Site] | None = None, policy=None,
                **options) -> EscalationPolicy:
    """Create or replace a policy. `steps`: [{"delay_minutes": int, "channels": [Channel], and optionally
    "users": [User], "rosters": [Roster], "site_roster": bool, "site_roles": [role]}]."""
    kinds, severities, sites = kinds or [], severities or [], sites or []
    policy_validate(tenant=tenant, kinds=kinds, severities=severities, steps=steps, sites=sites)
    with transaction.atomic():
        if policy is not None and policy.pk and options.get("enabled") is False:
            _lock_tenant_policies(tenant.pk)
            ensure_not_last_enabled(policy)
        policy = policy or EscalationPolicy(tenant=tenant)
        policy.name, policy.kinds, policy.severities = name, sorted(set(kinds)), sorted(set(severities))
        for field, value in options.items():
            setattr(policy, field, value)
        policy.save()
        policy.sites.set(sites)
        policy.steps.all().delete()
        for order, step in enumerate(steps):
            created = EscalationStep.objects.create(
                tenant=tenant, policy=policy, order=order, delay_minutes=step["delay_minutes"],
                site_roster=bool(step.get("site_roster")), site_roles=sorted(set(step.get("site_roles") or [])))
            created.channels.set(step.get("channels") or [])
            created.users.set(step.get("users") or [])
            created.rosters.set(step.get("rosters") or [])
        bump_routing_version(tenant.pk)
        audit_record(tenant=tenant, actor=actor, action="policy.saved", target_type="policy",
                     target_id=policy.public_id, details={"steps": len(steps), "kinds": policy.kinds})
    return policy


def policy_delete(*, policy: EscalationPolicy, actor: Actor) -> None:
    """Refused for the tenant's last enabled policy: alerts would then page nobody."""
    with transaction.atomic():
        _lock_tenant_policies(policy.tenant_id)
        if policy.enabled:
            ensure_not_last_enabled(policy)
        public_id = policy.public_id
        policy.delete()
        bump_routing_version(policy.tenant_id)
        audit_record(tenant=policy.tenant, actor=actor, action="policy.deleted", target_type="policy",
                     target_id=public_id, details={})


def steps_of(policy: EscalationPolicy) -> list[dict]:
    """A saved policy's steps in the shape `policy_save` takes (for partial updates)."""
    return [{"delay_minutes": step.delay_minutes, "channels": list(step.channels.all()),
             "users": list(step.users.all()), "rosters": list(step.rosters.all()), "site_roster": step.site_roster,
             "site_roles": list(step.site_roles or [])}
            for step in policy.steps.order_by("order").prefetch_related("channels", "users", "rosters")]


def channels_by_public_id(*, tenant: Tenant, public_ids: list[str]) -> list[Channel]:
    found = {c.public_id: c for c in Channel.objects.for_tenant(tenant).filter(
        public_id__in=public_ids, personal=False)}
    missing = [pid for pid in public_ids if pid not in found]
    if missing:
        raise ApplicationError("No such channel.", fields={"channels": missing})
    return [found[pid] for pid in public_ids]


def step_from_ids(*, tenant: Tenant, step: dict) -> dict:
    """A step as the API sends it (public ids, usernames) in the shape `policy_save` takes."""
    from django.contrib.auth import get_user_model

    from apps.oncall.models import Roster

    users = {u.username: u for u in get_user_model().objects.filter(memberships__tenant=tenant,
                                                                    username__in=step.get("users") or [])}
    missing = [name for name in step.get("users") or [] if name not in users]
    rosters = {r.public_id: r for r in Roster.objects.filter(tenant=tenant, public_id__in=step.get("rosters") or [])}
    missing_rosters = [pid for pid in step.get("rosters") or [] if pid not in rosters]
    if missing or missing_rosters:
        raise ApplicationError("No such person or roster.", fields={"users": missing, "rosters": missing_rosters})
    return {"delay_minutes": step["delay_minutes"],
            "channels": channels_by_public_id(tenant=tenant, public_ids=step.get("channels") or []),
            "users": [users[name] for name in step.get("users") or []],
            "rosters": [rosters[pid] for pid in step.get("rosters") or []],
            "site_roster": bool(step.get("site_roster")), "site_roles": list(step.get("site_roles") or [])}
