"""People's contact methods and rules (their own, or anyone's for owners and admins),
rosters with their preview and overrides, maintenance windows. Views are thin: every
write is a service call."""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, mixins, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from apps.audit.services import Actor
from apps.oncall import contacts, maintenance, rosters
from apps.oncall.api import serializers as s
from apps.oncall.models import ContactMethod, MaintenanceWindow, NotificationRule, Roster, RosterOverride
from apps.oncall.rotation import RosterState
from apps.tenancy.api.mixins import TenantScopedViewMixin
from apps.tenancy.models import ALL_ROLES, MANAGER_ROLES, OPERATOR_ROLES


class _PersonalMixin(TenantScopedViewMixin):
    """Everyone manages their own, whatever their sites; owners and admins of the whole
    tenant manage everyone's (a site-scoped manager only their own: README "Per-site access")."""

    read_roles = ALL_ROLES
    write_roles = ALL_ROLES
    api_key_read_scope = None  # addresses are personal data: people only
    site_field = None

    @property
    def manages(self) -> bool:
        return self.tenant_context.has_role(MANAGER_ROLES) and self.scope.covers_tenant(self.tenant.pk)

    def get_queryset(self):
        queryset = self.queryset.filter(tenant=self.tenant)  # personal rows: the person, not a site, decides
        return queryset if self.manages else queryset.filter(user=self.request.user)

    def get_serializer_context(self):
        # A rule's contact method is looked up in the tenant; whose it is, the view decides.
        return {**super().get_serializer_context(), "scope": None}

    def _actor(self) -> Actor:
        return Actor.for_principal(self.request.user)


class ContactMethodViewSet(_PersonalMixin, viewsets.ModelViewSet):
    serializer_class = s.ContactMethodSerializer
    queryset = ContactMethod.objects.select_related("user")
    filterset_fields = ["kind"]

    def perform_create(self, serializer):
        data = dict(serializer.validated_data)
        user = data.pop("user", None) or self.request.user
        if user != self.request.user and not self.manages:
            raise exceptions.PermissionDenied("Only owners and admins add contact methods for others.")
        serializer.instance = contacts.contact_method_create(tenant=self.tenant, user=user, actor=self._actor(),
                                                             **data)

    def perform_update(self, serializer):
        data = serializer.validated_data
        if "kind" in data and data["kind"] != serializer.instance.kind:
            raise exceptions.ValidationError({"kind": ["A contact method's kind is fixed; add a new one."]})
        serializer.instance = contacts.contact_method_update(method=serializer.instance, actor=self._actor(),
                                                             address=data.get("address"), label=data.get("label"))

    def perform_destroy(self, instance):
        contacts.contact_method_delete(method=instance, actor=self._actor())


class NotificationRuleViewSet(_PersonalMixin, viewsets.ModelViewSet):
    serializer_class = s.NotificationRuleSerializer
    queryset = NotificationRule.objects.select_related("user", "contact_method")

    def _method(self, method: ContactMethod) -> ContactMethod:
        if method.user_id != self.request.user.pk and not self.manages:
            raise exceptions.NotFound()  # someone else's contact method is not there for you
        return method

    def perform_create(self, serializer):
        data = serializer.validated_data
        serializer.instance = contacts.notification_rule_create(method=self._method(data["contact_method"]),
                                                                delay_minutes=data["delay_minutes"],
                                                                actor=self._actor())

    def perform_update(self, serializer):
        rule = serializer.instance
        if serializer.validated_data.get("contact_method", rule.contact_method) != rule.contact_method:
            raise exceptions.ValidationError({"contact_method": ["Make a new rule for another contact method."]})
        serializer.instance = contacts.notification_rule_update(
            rule=rule, delay_minutes=serializer.validated_data.get("delay_minutes", rule.delay_minutes),
            actor=self._actor())

    def perform_destroy(self, instance):
        contacts.notification_rule_delete(rule=instance, actor=self._actor())


class RosterViewSet(TenantScopedViewMixin, viewsets.ModelViewSet):
    """Weekly rotations; everyone reads who is on call, owners and admins change them."""

    serializer_class = s.RosterSerializer
    queryset = Roster.objects.prefetch_related("sites")

    def _members(self, usernames: list[str]) -> list:
        people = get_user_model().objects.filter(memberships__tenant=self.tenant, username__in=usernames)
        if not self.scope.covers_tenant(self.tenant.pk):  # a site-scoped manager: people of their sites
            people = people.filter(pk__in=self.scope.people_ids())
        found = {user.username: user for user in people}
        missing = [name for name in usernames if name not in found]
        if missing:
            raise exceptions.ValidationError({"members": [f"No such person in this tenant: {', '.join(missing)}."]})
        return [found[name] for name in usernames]

    def _save(self, serializer, roster=None):
        data = dict(serializer.validated_data)
        members = self._members(data.pop("members")) if "members" in data else (
            [m.user for m in roster.members.select_related("user").order_by("position")])
        timezone_name = data.pop("timezone", None)
        if roster is not None:
            for name in ("name", "handover_time", "starts_on", "handover_weekday"):
                data.setdefault(name, getattr(roster, name))
            data.setdefault("sites", list(roster.sites.all()))
            timezone_name = timezone_name or roster.timezone
        if not data.get("sites") and not self.scope.covers_tenant(self.tenant.pk):
            # A roster of no site is the whole tenant's: a site-scoped manager names their sites.
            raise exceptions.ValidationError({"sites": ["Choose one of your sites: a roster of no site is the "
                                                        "whole tenant's."]})
        serializer.instance = rosters.roster_save(tenant=self.tenant, actor=Actor.for_principal(self.request.user),
                                                  members=members, timezone_name=timezone_name or "",
                                                  roster=roster, **data)

    def perform_create(self, serializer):
        self._save(serializer)

    def perform_update(self, serializer):
        self._save(serializer, roster=serializer.instance)

    def perform_destroy(self, instance):
        rosters.roster_delete(roster=instance, actor=Actor.for_principal(self.request.user))

    @extend_schema(parameters=[s.PreviewQuery], responses=s.ShiftSerializer(many=True))
    @action(detail=True, methods=["get"])
    def preview(self, request, public_id=None):
        """Who is on call when, from `start` (now by default) for `days`, overrides included."""
        roster = self.get_object()
        query = s.PreviewQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        start = query.validated_data.get("start") or timezone.now()
        end = start + timedelta(days=query.validated_data["days"])
        state = RosterState.load(roster, since=start, until=end)
        names = dict(roster.members.values_list("user_id", "user__username"))
        names.update({o.user_id: o.user.username for o in state.overrides})
        shifts = [{"starts_at": shift.starts_at, "ends_at": shift.ends_at, "user": names.get(shift.user_id),
                   "source": shift.source, "override": shift.override_id} for shift in state.shifts(start, end)]
        return Response(s.ShiftSerializer(shifts, many=True).data)


class RosterOverrideViewSet(TenantScopedViewMixin, mixins.CreateModelMixin, mixins.ListModelMixin,
                            mixins.RetrieveModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet):
    serializer_class = s.RosterOverrideSerializer
    queryset = RosterOverride.objects.select_related("roster", "user")
    filterset_fields = {"roster__public_id": ["exact"]}

    def perform_create(self, serializer):
        serializer.instance = rosters.override_create(actor=Actor.for_principal(self.request.user),
                                                      **serializer.validated_data)

    def perform_destroy(self, instance):
        rosters.override_delete(override=instance, actor=Actor.for_principal(self.request.user))


class MaintenanceWindowViewSet(TenantScopedViewMixin, viewsets.ModelViewSet):
    """Planned work: owners, admins and staff open, change and end windows; everyone reads them."""

    serializer_class = s.MaintenanceWindowSerializer
    queryset = MaintenanceWindow.objects.select_related("site").prefetch_related("devices")
    write_roles = OPERATOR_ROLES
    filterset_fields = {"site__public_id": ["exact"]}

    def _actor(self) -> Actor:
        return Actor.for_principal(self.request.user)

    def perform_create(self, serializer):
        user = self.request.user if getattr(self.request.user, "is_authenticated", False) and \
            not getattr(self.request.user, "is_tenant_principal", False) else None
        serializer.instance = maintenance.maintenance_create(actor=self._actor(), user=user,
                                                             **serializer.validated_data)

    def perform_update(self, serializer):
        data = dict(serializer.validated_data)
        if data.pop("site", serializer.instance.site) != serializer.instance.site:
            raise exceptions.ValidationError({"site": ["A window's site is fixed; open a new window."]})
        serializer.instance = maintenance.maintenance_update(window=serializer.instance, actor=self._actor(), **data)

    def perform_destroy(self, instance):
        maintenance.maintenance_delete(window=instance, actor=self._actor())

    @extend_schema(request=None, responses=s.MaintenanceWindowSerializer)
    @action(detail=True, methods=["post"])
    def end(self, request, public_id=None):
        """End it now: what it held pages within seconds if still triggered."""
        window = maintenance.maintenance_end(window=self.get_object(), actor=self._actor())
        return Response(s.MaintenanceWindowSerializer(window, context=self.get_serializer_context()).data)
