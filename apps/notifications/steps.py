"""Writing one escalation step's outbox rows: its fixed channels and the people it names.

Invariants: people targets are resolved when the step runs, not when the alert was
raised (a roster handed over since then pages the new person); a person is paged through
their notification rules, each rule one row on their personal channel due that many
minutes after the step; and a step that resolves to nobody never swallows the alert: it
is marked "nobody notified" with the reason and the tenant's owners and admins are paged
instead. Re-running a step writes nothing twice (the outbox's unique key decides).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from apps.alerts.models import Alert
from apps.audit.services import Actor
from apps.notifications.models import Channel, ChannelKind, Notification, Purpose
from apps.notifications.outbox import write_rows
from apps.notifications.personal import person_page_plan
from apps.notifications.silence import mark_unnotified
from apps.oncall.people import PeopleTargets, resolve_people


def managers_channel_id(tenant) -> int:
    """The tenant's owners-and-admins channel, the fallback of a step that pages nobody."""
    channel = (Channel.objects.filter(tenant_id=tenant.pk, kind=ChannelKind.MANAGERS, personal=False,
                                      archived_at__isnull=True).order_by("-enabled", "pk").first())
    if channel is None:
        from apps.notifications.channels import channel_create
        from apps.notifications.defaults import MANAGERS_CHANNEL_NAME

        channel = channel_create(tenant=tenant, name=MANAGERS_CHANNEL_NAME,
                                 kind=ChannelKind.MANAGERS, target="", actor=Actor.system("tocsin"))
    return channel.pk


def step_people(alert: Alert, step: dict, now: datetime) -> list[int]:
    targets = PeopleTargets.from_snapshot(step.get("people"))
    if not targets:
        return []
    return resolve_people(tenant_id=alert.tenant_id, site_id=alert.site_id, targets=targets, at=now)


def write_step(alert: Alert, index: int, step: dict, due: datetime, now: datetime) -> list[Notification]:
    """Every row of this step: channels at `due`, each person's rules after it."""
    rows = write_rows(alert=alert, channel_ids=list(step.get("channels") or []), step=index, purpose=Purpose.PAGE,
                      due_at=due, now=now)
    user_ids = step_people(alert, step, now)
    by_delay: dict[int, list[int]] = defaultdict(list)
    for delay, channel_id in person_page_plan(tenant_id=alert.tenant_id, user_ids=user_ids):
        by_delay[delay].append(channel_id)
    for delay, channel_ids in sorted(by_delay.items()):
        rows += write_rows(alert=alert, channel_ids=channel_ids, step=index, purpose=Purpose.PAGE,
                           due_at=due + timedelta(minutes=delay), now=now)
    if not rows:
        reason = (f"step {index + 1} named nobody who can be paged (no one on call, or no contact methods); "
                  "owners and admins were paged")
        mark_unnotified(alert, reason=reason[:120])
        rows = write_rows(alert=alert, channel_ids=[managers_channel_id(alert.tenant)], step=index,
                          purpose=Purpose.PAGE, due_at=due, now=now)
    return rows
