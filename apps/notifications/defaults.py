"""What every tenant has from the start: a catch-all policy, so no alert goes unrouted.

The catch-all pages the tenant's owners and admins by email (a channel whose addresses
are read when it sends, so it follows membership changes). It has the lowest priority,
so any policy staff write wins over it, and it can be edited but not deleted while it is
the tenant's last policy.
"""

from __future__ import annotations

from django.dispatch import receiver

from apps.audit.services import Actor
from apps.notifications.channels import channel_create
from apps.notifications.models import Channel, ChannelKind, EscalationPolicy
from apps.notifications.policies import policy_save
from apps.tenancy.models import Tenant
from apps.tenancy.signals import tenant_created

CATCH_ALL_NAME = "Catch-all: owners and admins"
CATCH_ALL_PRIORITY = 1000
MANAGERS_CHANNEL_NAME = "Owners and admins (email)"


def catch_all_policy_ensure(*, tenant: Tenant) -> EscalationPolicy:
    existing = EscalationPolicy.objects.filter(tenant=tenant, is_catch_all=True).order_by().first()
    if existing is not None:
        return existing
    actor = Actor.system("tocsin")
    channel = (Channel.objects.filter(tenant=tenant, kind=ChannelKind.MANAGERS).order_by("pk").first()
               or channel_create(tenant=tenant, name=MANAGERS_CHANNEL_NAME, kind=ChannelKind.MANAGERS, target="",
                                 actor=actor))
    return policy_save(tenant=tenant, actor=actor, name=CATCH_ALL_NAME, priority=CATCH_ALL_PRIORITY,
                       steps=[{"delay_minutes": 0, "channels": [channel]}], is_catch_all=True)


@receiver(tenant_created, dispatch_uid="notifications.catch_all_policy")
def give_new_tenant_a_catch_all_policy(sender, tenant: Tenant, **kwargs) -> None:
    catch_all_policy_ensure(tenant=tenant)
