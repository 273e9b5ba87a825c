"""Personal channels: how a page reaches a person through one of their contact methods.

Invariants: a contact method has at most one channel (`Channel.contact_method` is unique),
made or brought in step with the contact method's current address by one
`INSERT ... ON CONFLICT (contact_method_id) DO UPDATE`, so two workers paging the same
person at once converge on one row; such channels carry `personal`, which keeps them out
of every channel list and step choice even after their contact method is deleted (their
deliveries stay as history). The inbound side (replies by SMS, Slack, voice) maps a
channel back to its person through `contact_method`.
"""

from __future__ import annotations

from django.db import connection
from django.utils import timezone

from apps.common.ids import generate_public_id
from apps.notifications.models import Channel, ChannelKind
from apps.oncall.models import ContactMethod, NotificationRule

# A contact kind pages through the channel kind of the same name, where one exists.
PAGEABLE_KINDS = frozenset(kind for kind in ("sms", "voice", "email", "slack") if kind in ChannelKind.values)

_UPSERT_SQL = """
INSERT INTO {table} (public_id, tenant_id, name, kind, target, secret_encrypted, enabled, contact_method_id,
    personal, created_at)
VALUES (%s, %s, %s, %s, %s, '', true, %s, true, %s)
ON CONFLICT (contact_method_id) DO UPDATE SET
    kind = EXCLUDED.kind, target = EXCLUDED.target, name = EXCLUDED.name, enabled = true, archived_at = NULL
RETURNING id
"""


def personal_channel_name(method: ContactMethod) -> str:
    """Names the person and the kind, never the address (channel names show in deliveries)."""
    return f"{method.user.get_username()} ({method.get_kind_display()}, personal)"[:100]


def personal_channel_ensure(*, method: ContactMethod) -> int:
    """The id of the method's personal channel, made or brought in step now."""
    table = Channel._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(_UPSERT_SQL.format(table=table),  # noqa: S608 (table name from the model)
                       [generate_public_id("chn"), method.tenant_id, personal_channel_name(method), method.kind,
                        method.address, method.pk, timezone.now()])
        return cursor.fetchone()[0]


def person_page_plan(*, tenant_id: int, user_ids: list[int]) -> list[tuple[int, int]]:
    """[(minutes after the step, channel id)] for paging these people by their rules.

    A person with contact methods but no rules is paged on every method at once: a step
    that names someone should reach them rather than silently not.
    """
    if not user_ids:
        return []
    methods = list(ContactMethod.objects.filter(tenant_id=tenant_id, user_id__in=user_ids, kind__in=PAGEABLE_KINDS)
                   .select_related("user").order_by("user_id", "pk"))
    rules = list(NotificationRule.objects.filter(tenant_id=tenant_id, user_id__in=user_ids,
                                                 contact_method__kind__in=PAGEABLE_KINDS).order_by("delay_minutes"))
    by_id = {method.pk: method for method in methods}
    ruled_users = {rule.user_id for rule in rules}
    plan: list[tuple[int, ContactMethod]] = [(rule.delay_minutes, by_id[rule.contact_method_id]) for rule in rules
                                             if rule.contact_method_id in by_id]
    plan += [(0, method) for method in methods if method.user_id not in ruled_users]
    channel_ids: dict[int, int] = {}
    entries, seen = [], set()
    for delay, method in plan:
        if method.pk not in channel_ids:
            channel_ids[method.pk] = personal_channel_ensure(method=method)
        channel_id = channel_ids[method.pk]
        if channel_id not in seen:  # one row per channel and step: the earliest rule wins
            seen.add(channel_id)
            entries.append((delay, channel_id))
    return entries
