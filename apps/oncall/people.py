"""Who an escalation step's people targets name at the moment the step runs.

Invariant: resolved from the database when the step runs (a roster's handover or an
override made after the alert was raised counts); only active members of the alert's
tenant whose membership covers the alert's site (all sites, or that one among their
chosen sites; whole-tenant members only for an alert without a site) are ever returned,
whether a role, a roster or the step itself named them: a person who left the tenant, or
a Porto-only member, is never paged for a Lisbon alert.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.contrib.auth import get_user_model
from django.db.models import Q

from apps.oncall.models import Roster
from apps.oncall.rotation import RosterState
from apps.tenancy import selectors as tenancy_selectors
from apps.tenancy.models import Membership, Role, Site


@dataclass(frozen=True)
class PeopleTargets:
    """A step's people targets, as snapshotted onto the alert (ids, not instances)."""

    users: tuple[int, ...] = ()
    rosters: tuple[int, ...] = ()
    site_roster: bool = False
    roles: tuple[str, ...] = field(default=())

    @classmethod
    def from_snapshot(cls, data: dict | None) -> PeopleTargets:
        data = data or {}
        return cls(users=tuple(data.get("users", ())), rosters=tuple(data.get("rosters", ())),
                   site_roster=bool(data.get("site_roster")), roles=tuple(data.get("roles", ())))

    def as_snapshot(self) -> dict:
        return {"users": list(self.users), "rosters": list(self.rosters), "site_roster": self.site_roster,
                "roles": list(self.roles)}

    def __bool__(self) -> bool:
        return bool(self.users or self.rosters or self.site_roster or self.roles)


def members_covering_site(*, tenant_id: int, site_id: int | None, roles: list[str] | tuple[str, ...]):
    """Active people of the tenant with one of `roles` whose membership covers the site (the
    tenancy rule, `apps.tenancy.selectors.members_covering_site`); an alert without a site is
    covered by whole-tenant memberships only."""
    roles = [role for role in roles if role in Role.values]
    if site_id is None:
        memberships = Membership.objects.filter(tenant_id=tenant_id, all_sites=True, role__in=roles)
    else:
        memberships = tenancy_selectors.members_covering_site(site=Site(pk=site_id, tenant_id=tenant_id), roles=roles)
    return get_user_model().objects.filter(pk__in=memberships.values("user_id"), is_active=True)


def rosters_of_site(*, tenant_id: int, site_id: int | None):
    if site_id is None:
        return Roster.objects.none()
    return Roster.objects.filter(tenant_id=tenant_id, sites__pk=site_id)


def on_call_now(*, roster: Roster, at: datetime) -> int | None:
    return RosterState.load(roster, since=at, until=at).on_call_at(at)


def resolve_people(*, tenant_id: int, site_id: int | None, targets: PeopleTargets, at: datetime) -> list[int]:
    """The ids of the people to page now, each once, in a stable order."""
    found: list[int] = list(targets.users)
    rosters = list(Roster.objects.filter(tenant_id=tenant_id, pk__in=targets.rosters))
    if targets.site_roster:
        rosters += [roster for roster in rosters_of_site(tenant_id=tenant_id, site_id=site_id)
                    if roster.pk not in {r.pk for r in rosters}]
    for roster in rosters:
        user_id = on_call_now(roster=roster, at=at)
        if user_id is not None:
            found.append(user_id)
    if targets.roles:
        found += list(members_covering_site(tenant_id=tenant_id, site_id=site_id, roles=targets.roles)
                      .values_list("pk", flat=True))
    # Only people whose membership covers the alert's site (a site-less alert: whole-tenant
    # members), whoever named them: a Porto-only member put on a roster or a step is never
    # paged for Lisbon.
    covering = Membership.objects.filter(tenant_id=tenant_id, user_id__in=found, user__is_active=True)
    covering = covering.filter(Q(all_sites=True) | Q(sites__pk=site_id)) if site_id is not None else (
        covering.filter(all_sites=True))
    active = set(covering.values_list("user_id", flat=True))
    return list(dict.fromkeys(user_id for user_id in found if user_id in active))
