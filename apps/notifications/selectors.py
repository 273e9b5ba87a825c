"""Reads for staff: which policy routes what (the routing preview)."""

from __future__ import annotations

from apps.alerts.models import AlertKind, Severity
from apps.notifications.escalation import policy_for, snapshot, unrouted_reason
from apps.notifications.models import Channel
from apps.notifications.routing import load_policies
from apps.tenancy.models import Site, Tenant


def routing_preview(*, tenant: Tenant, kinds: list[str] | None = None, severities: list[str] | None = None,
                    sites: list[Site] | None = None) -> list[dict]:
    """For each site (and alerts without one), kind and severity: the policy that would page
    it, the channels of its first step, and why it would page nobody, if it would.

    The same matching as a real raise (`policy_for`), over policies read once.
    """
    policies = load_policies(tenant.pk)  # what the database says now, not a process's copy
    channels = {channel.pk: channel for channel in Channel.objects.for_tenant(tenant)}
    places: list[Site | None] = list(sites) if sites else [*Site.objects.for_tenant(tenant).order_by("name"), None]
    entries = []
    for site in places:
        for kind in kinds or AlertKind.values:
            for severity in severities or Severity.values:
                policy = policy_for(tenant_id=tenant.pk, kind=kind, severity=severity,
                                    site_id=site.pk if site else None, policies=policies)
                first = policy.steps[0] if policy and policy.steps else None
                plan = snapshot(policy, severity=severity)
                entries.append({
                    "site": site.public_id if site else None, "site_name": site.name if site else None,
                    "kind": kind, "severity": severity,
                    "policy": policy.public_id if policy else None, "policy_name": policy.name if policy else None,
                    "first_step_channels": [
                        {"id": channel.public_id, "name": channel.name, "kind": channel.kind,
                         "enabled": channel.enabled}
                        for channel in (channels[pk] for pk in (first.channel_ids if first else ()))],
                    "pages_nobody": bool(unrouted_reason(plan)), "reason": unrouted_reason(plan),
                })
    return entries
