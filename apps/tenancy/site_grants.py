"""Which sites a membership may be given, and by whom: the site half of the membership rules.

Invariant: a membership covers only sites of its own tenant, at least one when it is not
for the whole tenant, and a manager who is themselves limited to some sites can neither
grant more than they cover (no whole-tenant membership, no other site) nor change or
remove the membership of someone who covers more than they do. The membership service
asks here before every write (API, admin, invites, commands alike); superusers and
operators at the command line are not bound by the second rule.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from apps.common.errors import ApplicationError, ForbiddenError
from apps.tenancy.models import Membership, Site, Tenant


@dataclass(frozen=True)
class SiteGrant:
    """What a membership is to cover: the whole tenant, or these sites."""

    all_sites: bool
    site_ids: frozenset[int]

    @classmethod
    def of(cls, membership: Membership) -> SiteGrant:
        if membership.all_sites:
            return cls(all_sites=True, site_ids=frozenset())
        return cls(all_sites=False, site_ids=frozenset(membership.sites.values_list("pk", flat=True)))

    def within(self, other: SiteGrant) -> bool:
        return other.all_sites or (not self.all_sites and self.site_ids <= other.site_ids)


def grant_resolve(*, tenant: Tenant, current: Membership | None, all_sites: bool | None,
                  sites: Iterable[Site] | None) -> SiteGrant:
    """The grant asked for, with what is not named kept from `current` (a new membership:
    the whole tenant). Sites of another tenant are refused as if they did not exist."""
    if all_sites is None and sites is None:
        return SiteGrant.of(current) if current is not None else SiteGrant(all_sites=True, site_ids=frozenset())
    if all_sites is None:
        all_sites = False  # naming sites limits the membership to them
    if all_sites:
        return SiteGrant(all_sites=True, site_ids=frozenset())
    chosen = list(sites) if sites is not None else list(current.sites.all()) if current is not None else []
    if any(site.tenant_id != tenant.pk for site in chosen):
        raise ApplicationError("No such site.", fields={"sites": ["No such site."]})
    if not chosen:
        raise ApplicationError("Choose at least one site, or all sites.",
                               fields={"sites": ["Choose at least one site, or all sites."]})
    return SiteGrant(all_sites=False, site_ids=frozenset(site.pk for site in chosen))


def grant_check(*, actor_membership: Membership | None, target: Membership | None, grant: SiteGrant | None) -> None:
    """Refuses (403) a site-scoped manager's change beyond their own sites: `grant` None is a
    removal. `actor_membership` None: no bound actor (a superuser, the command line)."""
    if actor_membership is None or actor_membership.all_sites:
        return
    own = SiteGrant.of(actor_membership)
    if target is not None and target.pk != actor_membership.pk and not SiteGrant.of(target).within(own):
        raise ForbiddenError("You cannot change the membership of someone who covers sites you do not.",
                             code="sites_above_own")
    if grant is not None and not grant.within(own):
        raise ForbiddenError("You can grant only sites you cover yourself.", code="sites_above_own",
                             fields={"sites": ["Only sites you cover yourself."]})
