"""The one place that decides what a person may see inside a tenant: their scope.

Invariant: every read of a tenant-owned row by a person goes through `Scope.filter` (API
views through TenantScopedViewMixin, admin pages through TenantScopedAdmin, the board
and the stream through the scope a ticket carries), so a membership limited to some
sites never sees, and never acts on, another site's rows: they answer 404 like a foreign
tenant's.

A scope is two sets: the tenants a person sees whole (memberships with `all_sites`, or a
superuser: everything) and the sites they see in the other tenants (the `sites` of their
site-scoped memberships, only those that belong to the membership's own tenant). A row
is visible when its tenant is seen whole, or its site (`site_path_for`) is one of those
sites. Rows with no site (tenant-wide alerts with `site` NULL, channels, escalation
policies, API keys, audit entries, retention) are therefore visible only to whole-tenant
members: they may concern every site, and a Lisbon night guard must not read Porto's
history through a site-less row or change configuration that pages Porto. A row that
covers several sites (a roster) is visible to a site-scoped member only when every one of
its sites is theirs: one Porto site among them, and it pages for Porto.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.core.exceptions import FieldDoesNotExist
from django.db.models import F, Model, Q, QuerySet

from apps.tenancy.models import Membership, Site, Tenant

# Rows that reach their site through another row; every other model with a `site` foreign
# key is scoped by it, and a model with neither is tenant-wide. Labels, not imports: the
# tenancy app sits below the apps that own these models.
INDIRECT_SITE_PATHS = {
    "alerts.alertevent": "alert__site",
    "notifications.notification": "alert__site",
    "ingest.healthsample": "device__site",
    "ingest.telemetryreading": "device__site",
    "ingest.scanbatch": "device__site",
    "devices.devicechallenge": "device__site",
    "devices.devicerefreshcredential": "device__site",
    "devices.devicecommand": "device__site",
    "ingest.telemetrybaseline": "device__site",
    # Rosters cover a set of sites (many-to-many): see `Scope.q` for what that means.
    "oncall.roster": "sites",
    "oncall.rostermember": "roster__sites",
    "oncall.rosteroverride": "roster__sites",
    "oncall.shiftnotice": "roster__sites",
    # An invitation is seen where its membership's sites all are (an all-sites one: whole-tenant).
    "tenancy.invitation": "membership__sites",
}


def site_path_for(model: type[Model]) -> str | None:
    """How rows of `model` name their site, as a lookup path; None for tenant-wide rows."""
    if model is Site:
        return "pk"
    label = model._meta.label_lower
    if label in INDIRECT_SITE_PATHS:
        return INDIRECT_SITE_PATHS[label]
    try:
        site_field = model._meta.get_field("site")
    except FieldDoesNotExist:
        return None
    return "site" if site_field.concrete and site_field.related_model is Site else None


def _is_multi_valued(model: type[Model], path: str) -> bool:
    """True when `path` crosses a many-to-many or reverse relation (a row has many sites)."""
    for name in path.split("__"):
        if name == "pk":
            return False
        field = model._meta.get_field(name)
        if field.many_to_many or field.one_to_many:
            return True
        if field.related_model is None:
            return False
        model = field.related_model
    return False


@dataclass(frozen=True)
class Scope:
    """What one person (or integration) may see; build it with the `scope_for_*` functions."""

    whole_tenant_ids: frozenset[int] = field(default_factory=frozenset)
    site_ids: frozenset[int] = field(default_factory=frozenset)
    unrestricted: bool = False

    @property
    def is_site_restricted(self) -> bool:
        """True when some sites are out of reach: the person is limited to chosen sites."""
        return not self.unrestricted and bool(self.site_ids or not self.whole_tenant_ids)

    def q(self, *, site_path: str | None, tenant_path: str = "tenant", model: type[Model] | None = None) -> Q:
        """The visible rows of `model`. A path through a many-to-many (a roster's sites) needs
        `model`: such a row is visible only when it has sites and all of them are in scope
        (by subquery, so a row of several sites is never listed twice)."""
        if self.unrestricted:
            return Q()
        visible = Q(**{f"{tenant_path}__in": self.whole_tenant_ids})
        if site_path is None or not self.site_ids:
            return visible
        if model is not None and _is_multi_valued(model, site_path):
            others = Site.objects.exclude(pk__in=self.site_ids)
            rows = (model._default_manager.filter(**{f"{site_path}__in": self.site_ids})
                    .exclude(**{f"{site_path}__in": others}).values("pk"))
            return visible | Q(pk__in=rows)
        return visible | Q(**{f"{site_path}__in": self.site_ids})

    def filter(self, queryset: QuerySet, *, site_field: str | None = "auto",
               tenant_field: str = "tenant") -> QuerySet:
        """`queryset` limited to this scope. `site_field` names the site lookup; the default
        asks `site_path_for`, None treats the rows as tenant-wide."""
        site_path = site_path_for(queryset.model) if site_field == "auto" else site_field
        if queryset.model is Tenant:
            return queryset if self.unrestricted else queryset.filter(pk__in=self.tenant_ids())
        return queryset.filter(self.q(site_path=site_path, tenant_path=tenant_field, model=queryset.model))

    def tenant_ids(self) -> frozenset[int]:
        """Every tenant the scope touches, whole or through some sites."""
        if self.unrestricted:
            raise ValueError("an unrestricted scope touches every tenant")
        return self.whole_tenant_ids | frozenset(
            Site.objects.filter(pk__in=self.site_ids).values_list("tenant_id", flat=True))

    def sites(self) -> QuerySet[Site]:
        return self.filter(Site.objects.all())

    def people_ids(self) -> QuerySet:
        """The user ids of people whose memberships cover a site of this scope (or a tenant it
        sees whole): whom a site-scoped manager may name (on a roster, in an override)."""
        return Membership.objects.filter(
            Q(tenant__in=self.whole_tenant_ids)
            | Q(all_sites=True, tenant__in=Site.objects.filter(pk__in=self.site_ids).values("tenant_id"))
            | Q(pk__in=Membership.sites.through.objects.filter(site_id__in=self.site_ids).values("membership_id"))
        ).values("user_id")

    def covers_tenant(self, tenant_id: int) -> bool:
        """The whole tenant, site-less rows included."""
        return self.unrestricted or tenant_id in self.whole_tenant_ids


UNRESTRICTED = Scope(unrestricted=True)


def _scope_of(memberships: QuerySet[Membership]) -> Scope:
    whole: set[int] = set()
    restricted: set[int] = set()
    for membership_id, tenant_id, all_sites in memberships.values_list("pk", "tenant_id", "all_sites"):
        if all_sites:
            whole.add(tenant_id)
        else:
            restricted.add(membership_id)
    site_ids = frozenset(
        # Only sites of the membership's own tenant count, whatever the table holds.
        Membership.sites.through.objects.filter(membership_id__in=restricted,
                                                 site__tenant_id=F("membership__tenant_id"))
        .values_list("site_id", flat=True)) if restricted else frozenset()
    return Scope(whole_tenant_ids=frozenset(whole), site_ids=site_ids)


def scope_for_user(user, *, roles=None) -> Scope:
    """Across every tenant of `user` (the admin), or only their memberships with one of
    `roles` (what they may manage). Superusers are unrestricted."""
    if user.is_superuser:
        return UNRESTRICTED
    memberships = Membership.objects.filter(user=user)
    if roles is not None:
        memberships = memberships.filter(role__in=list(roles))
    return _scope_of(memberships)


def scope_for_membership(membership: Membership | None, *, tenant: Tenant) -> Scope:
    """Inside one tenant, as the API acts: a membership's scope, or the whole tenant for a
    caller who has none there (a superuser, an integration's key)."""
    if membership is None or membership.all_sites:
        return Scope(whole_tenant_ids=frozenset({tenant.pk}))
    return _scope_of(Membership.objects.filter(pk=membership.pk))
