"""Which policy covers an alert: the tenant's enabled policies, read once per change.

Invariant: a process never routes with policies older than the tenant's routing version.
Every write that can change routing (a policy saved or deleted, a channel changed or
deleted: all through the services) bumps the version in the same transaction; a raise
reads the version (one indexed row) and reloads the policies only when it moved, or when
the copy is older than `MAX_AGE` (a safety net for writes made outside the services).
Matching a new alert against the database cost ~9-14 ms of ORM work per raise; this costs
one small query.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import datetime

from django.db import connection

from apps.common.rawsql import PreparedStatement, hydrate, select_columns
from apps.notifications.models import EscalationPolicy, QuietHours, RoutingVersion
from apps.oncall.maintenance import covering_until_sql
from apps.oncall.people import PeopleTargets

MAX_AGE_SECONDS = 30.0


@dataclass(frozen=True)
class RouteStep:
    order: int
    delay_minutes: int
    channel_ids: tuple[int, ...]  # every channel of the step
    enabled_channel_ids: tuple[int, ...]  # those that page
    people: PeopleTargets = PeopleTargets()  # resolved when the step runs


@dataclass(frozen=True)
class RoutePolicy:
    """What routing needs of a policy, detached from the ORM so it can be kept between requests."""

    pk: int
    public_id: str
    name: str
    kinds: frozenset[str]
    severities: frozenset[str]
    site_ids: frozenset[int]
    steps: tuple[RouteStep, ...]
    repeat_times: int
    repeat_after_minutes: int
    notify_on_acknowledge: bool
    notify_on_resolve: bool

    @classmethod
    def from_model(cls, policy: EscalationPolicy) -> RoutePolicy:
        steps = tuple(
            RouteStep(order=step.order, delay_minutes=step.delay_minutes,
                      channel_ids=tuple(sorted(channel.pk for channel in step.channels.all())),
                      enabled_channel_ids=tuple(sorted(channel.pk for channel in step.channels.all()
                                                       if channel.enabled)),
                      people=PeopleTargets(users=tuple(sorted(user.pk for user in step.users.all())),
                                           rosters=tuple(sorted(roster.pk for roster in step.rosters.all())),
                                           site_roster=step.site_roster, roles=tuple(step.site_roles or ())))
            for step in sorted(policy.steps.all(), key=lambda s: s.order))
        return cls(pk=policy.pk, public_id=policy.public_id, name=policy.name, kinds=frozenset(policy.kinds or ()),
                   severities=frozenset(policy.severities or ()),
                   site_ids=frozenset(site.pk for site in policy.sites.all()), steps=steps,
                   repeat_times=policy.repeat_times, repeat_after_minutes=policy.repeat_after_minutes,
                   notify_on_acknowledge=policy.notify_on_acknowledge, notify_on_resolve=policy.notify_on_resolve)

    def covers(self, *, kind: str, severity: str, site_id: int | None) -> bool:
        return ((not self.kinds or kind in self.kinds) and (not self.severities or severity in self.severities)
                and (not self.site_ids or site_id in self.site_ids))


_cache: dict[int, tuple[int, float, list[RoutePolicy]]] = {}
_lock = threading.Lock()


def _version(tenant_id: int) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT version FROM {RoutingVersion._meta.db_table} WHERE tenant_id = %s",  # noqa: S608
                       [tenant_id])
        row = cursor.fetchone()
    return row[0] if row else 0


def load_policies(tenant_id: int) -> list[RoutePolicy]:
    """The tenant's enabled policies in matching order, straight from the database."""
    policies = (EscalationPolicy.objects.filter(tenant_id=tenant_id, enabled=True)
                .prefetch_related("sites", "steps__channels", "steps__users",
                                                                   "steps__rosters").order_by("priority", "pk"))
    return [RoutePolicy.from_model(policy) for policy in policies]


def enabled_policies(tenant_id: int, *, version: int | None = None) -> list[RoutePolicy]:
    """`version`: the tenant's routing version, when the caller read it in this transaction
    already (`route_context`)."""
    version, now = _version(tenant_id) if version is None else version, time.monotonic()
    cached = _cache.get(tenant_id)
    if cached is not None and cached[0] == version and now - cached[1] < MAX_AGE_SECONDS:
        return cached[2]
    policies = load_policies(tenant_id)
    with _lock:
        _cache[tenant_id] = (version, now, policies)
    return policies


def _route_context_sql() -> str:
    hours = QuietHours._meta.db_table
    return (f"SELECT (SELECT version FROM {RoutingVersion._meta.db_table} WHERE tenant_id = $1), "  # noqa: S608
            f"({covering_until_sql()}), {select_columns(QuietHours, 'q')} "
            f"FROM (SELECT 1) AS route LEFT JOIN {hours} q ON q.site_id = $2 AND q.enabled")


# Routing a new alert needs all three, on every raise: one round trip instead of three.
ROUTE_CONTEXT_STATEMENT = PreparedStatement("tocsin_route_context", _route_context_sql,
                                            argument_types="bigint, bigint, timestamptz, varchar, bigint")


@dataclass(frozen=True)
class RouteContext:
    routing_version: int
    maintenance_until: datetime | None  # the end of the maintenance covering the alert now
    quiet_hours: QuietHours | None  # the alert's site's enabled quiet hours


def route_context(alert, now: datetime) -> RouteContext:
    """The tenant's routing version, the maintenance covering `alert` at `now` and its site's
    quiet hours, in one statement (each as `enabled_policies`, `maintenance_until` and
    `quiet_hours_for_site` would read it)."""
    version, until, *hours = ROUTE_CONTEXT_STATEMENT.fetchone(alert.tenant_id, alert.site_id, now, alert.kind,
                                                              alert.device_id)
    return RouteContext(routing_version=version or 0, maintenance_until=until,
                        quiet_hours=hydrate(QuietHours, hours) if hours[0] is not None else None)


def bump_routing_version(tenant_id: int) -> None:
    """Call inside the transaction of any change to a tenant's routing."""
    table = RoutingVersion._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {table} (tenant_id, version) VALUES (%s, 1) "  # noqa: S608
                       f"ON CONFLICT (tenant_id) DO UPDATE SET version = {table}.version + 1", [tenant_id])
