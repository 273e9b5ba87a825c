"""Writing escalation policies with their steps, in one transaction."""

from __future__ import annotations

from django.db import transaction

from apps.alerts.models import AlertKind, Severity
from apps.audit.services import Actor, audit_record
from apps.common.errors import ApplicationError
from apps.notifications.models import Channel, EscalationPolicy, EscalationStep
from apps.tenancy.models import Site, Tenant

MAX_STEPS = 10


def _validate(*, kinds: list[str], severities: list[str], steps: list[dict]) -> None:
    if set(kinds) - set(AlertKind.values):
        raise ApplicationError("Unknown alert kind.", fields={"kinds": ["invalid"]})
    if set(severities) - set(Severity.values):
        raise ApplicationError("Unknown severity.", fields={"severities": ["invalid"]})
    if not 1 <= len(steps) <= MAX_STEPS:
        raise ApplicationError(f"A policy has 1 to {MAX_STEPS} steps.", fields={"steps": ["count"]})
    delays = [step["delay_minutes"] for step in steps]
    if delays != sorted(delays):
        raise ApplicationError("Steps must be in order of their delay.", fields={"steps": ["order"]})


def policy_save(*, tenant: Tenant, actor: Actor, name: str, steps: list[dict], kinds: list[str] | None = None,
                severities: list[str] | None = None, sites: list[Site] | None = None, policy=None,
                **options) -> EscalationPolicy:
    """Create or replace a policy. `steps`: [{"delay_minutes": int, "channels": [Channel]}]."""
    kinds, severities, sites = kinds or [], severities or [], sites or []
    _validate(kinds=kinds, severities=severities, steps=steps)
    for step in steps:
        if any(channel.tenant_id != tenant.pk for channel in step["channels"]) or not step["channels"]:
            raise ApplicationError("Each step needs channels of this tenant.", fields={"steps": ["channels"]})
    with transaction.atomic():
        policy = policy or EscalationPolicy(tenant=tenant)
        policy.name, policy.kinds, policy.severities = name, sorted(set(kinds)), sorted(set(severities))
        for field, value in options.items():
            setattr(policy, field, value)
        policy.save()
        policy.sites.set(sites)
        policy.steps.all().delete()
        for order, step in enumerate(steps):
            created = EscalationStep.objects.create(tenant=tenant, policy=policy, order=order,
                                                    delay_minutes=step["delay_minutes"])
            created.channels.set(step["channels"])
        audit_record(tenant=tenant, actor=actor, action="policy.saved", target_type="policy",
                     target_id=policy.public_id, details={"steps": len(steps), "kinds": policy.kinds})
    return policy


def channels_by_public_id(*, tenant: Tenant, public_ids: list[str]) -> list[Channel]:
    found = {c.public_id: c for c in Channel.objects.for_tenant(tenant).filter(public_id__in=public_ids)}
    missing = [pid for pid in public_ids if pid not in found]
    if missing:
        raise ApplicationError("No such channel.", fields={"channels": missing})
    return [found[pid] for pid in public_ids]
