"""Writes for rosters (their rotation and members) and overrides.

Invariants: a roster's sites, members and overrides are all of its tenant (members are
members of it); its timezone is a real IANA zone (the sites' own when not given); at most
MAX_MEMBERS take turns; an override is bounded (ends after it starts, within
MAX_OVERRIDE_DAYS). Every write is audited once, naming people by id, never by address.
"""

from __future__ import annotations

import zoneinfo
from datetime import date, datetime, time, timedelta

from django.db import transaction
from django.utils import timezone

from apps.audit.services import Actor, audit_record
from apps.common.errors import ApplicationError
from apps.oncall.models import Roster, RosterMember, RosterOverride
from apps.tenancy.models import Site, Tenant

MAX_MEMBERS = 52
MAX_OVERRIDE_DAYS = 31
EARLIEST_START, LATEST_START = date(2000, 1, 1), date(2100, 1, 1)
MAX_AHEAD = timedelta(days=2 * 366)


def _validate(tenant: Tenant, *, name: str, sites: list[Site], members: list, timezone_name: str,
              handover_weekday: int, starts_on: date) -> None:
    if not (name or "").strip():
        raise ApplicationError("A roster needs a name.", fields={"name": ["required"]})
    if any(site.tenant_id != tenant.pk for site in sites):
        raise ApplicationError("Sites must be of this tenant.", fields={"sites": ["invalid"]})
    if len(members) > MAX_MEMBERS or len({m.pk for m in members}) != len(members):
        raise ApplicationError(f"Up to {MAX_MEMBERS} different people take turns.", fields={"members": ["invalid"]})
    member_ids = set(tenant.memberships.filter(user__in=members).values_list("user_id", flat=True))
    if any(user.pk not in member_ids for user in members):
        raise ApplicationError("Every person of a roster must be a member of the tenant.",
                               fields={"members": ["not a member"]})
    if timezone_name not in zoneinfo.available_timezones():
        raise ApplicationError("Unknown timezone.", fields={"timezone": ["invalid"]})
    if not EARLIEST_START <= starts_on <= LATEST_START:
        raise ApplicationError("A rotation starts between 2000 and 2100.", fields={"starts_on": ["out of range"]})
    if not 0 <= handover_weekday <= 6:
        raise ApplicationError("The handover weekday is 0 (Monday) to 6 (Sunday).",
                               fields={"handover_weekday": ["invalid"]})


def roster_save(*, tenant: Tenant, actor: Actor, name: str, members: list, handover_time: time,
                starts_on: date, handover_weekday: int = 0, sites: list[Site] | None = None,
                timezone_name: str = "", roster: Roster | None = None) -> Roster:
    """Create or replace a roster. `members` in their order of turns (the first takes the first week)."""
    sites = list(sites or [])
    timezone_name = timezone_name or (sites[0].timezone if sites else "UTC")
    _validate(tenant, name=name, sites=sites, members=members, timezone_name=timezone_name,
              handover_weekday=handover_weekday, starts_on=starts_on)
    roster = roster or Roster(tenant=tenant)
    roster.name, roster.timezone, roster.handover_weekday = name.strip()[:100], timezone_name, handover_weekday
    roster.handover_time, roster.starts_on = handover_time, starts_on
    with transaction.atomic():
        roster.save()
        roster.sites.set(sites)
        RosterMember.objects.filter(roster=roster).delete()
        RosterMember.objects.bulk_create([RosterMember(tenant=tenant, roster=roster, user=user, position=position)
                                          for position, user in enumerate(members)])
        audit_record(tenant=tenant, actor=actor, action="roster.saved", target_type="roster",
                     target_id=roster.public_id,
                     details={"members": [user.pk for user in members], "sites": [s.public_id for s in sites],
                              "timezone": timezone_name, "handover": f"{handover_weekday} {handover_time}"})
    return roster


def roster_delete(*, roster: Roster, actor: Actor) -> None:
    """Steps that named it page their other targets; one left with none pages the owners and admins."""
    with transaction.atomic():
        audit_record(tenant=roster.tenant, actor=actor, action="roster.deleted", target_type="roster",
                     target_id=roster.public_id, details={})
        roster.delete()


def override_create(*, roster: Roster, user, starts_at: datetime, ends_at: datetime, actor: Actor,
                    reason: str = "") -> RosterOverride:
    if ends_at <= starts_at:
        raise ApplicationError("An override ends after it starts.", fields={"ends_at": ["before start"]})
    if abs(starts_at - timezone.now()) > MAX_AHEAD:
        raise ApplicationError("An override starts within two years of now.", fields={"starts_at": ["out of range"]})
    if ends_at - starts_at > timedelta(days=MAX_OVERRIDE_DAYS):
        raise ApplicationError(f"An override lasts at most {MAX_OVERRIDE_DAYS} days.",
                               fields={"ends_at": ["too long"]})
    if not roster.tenant.memberships.filter(user=user).exists():
        raise ApplicationError("The person covering must be a member of the tenant.", fields={"user": ["invalid"]})
    with transaction.atomic():
        override = RosterOverride.objects.create(tenant_id=roster.tenant_id, roster=roster, user=user,
                                                 starts_at=starts_at, ends_at=ends_at, reason=(reason or "")[:200])
        audit_record(tenant=roster.tenant, actor=actor, action="roster.override_created", target_type="roster",
                     target_id=roster.public_id,
                     details={"override": override.public_id, "user": user.pk, "starts_at": starts_at.isoformat(),
                              "ends_at": ends_at.isoformat()})
    return override


def override_delete(*, override: RosterOverride, actor: Actor) -> None:
    with transaction.atomic():
        audit_record(tenant=override.tenant, actor=actor, action="roster.override_deleted", target_type="roster",
                     target_id=override.roster.public_id, details={"override": override.public_id})
        override.delete()
