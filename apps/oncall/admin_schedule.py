"""Admin pages for rosters (with who-is-on-call-when), overrides and maintenance windows.

Every save and delete goes through the oncall services (validated, audited once).
"""

from __future__ import annotations

from datetime import timedelta

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.http import Http404
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone

from apps.alerts.models import AlertKind
from apps.audit.services import Actor
from apps.common.errors import ApplicationError
from apps.devices.models import Device
from apps.oncall import maintenance, rosters
from apps.oncall.models import MaintenanceWindow, Roster, RosterOverride
from apps.oncall.rotation import RosterState
from apps.tenancy.admin_base import TenantScopedAdmin
from apps.tenancy.admin_forms import ServiceForm, ServiceSaved
from apps.tenancy.admin_scoping import tenant_scope
from apps.tenancy.context import tenant_ids_where_role
from apps.tenancy.models import OPERATOR_ROLES, Site
from apps.tenancy.scoping import scope_for_user


class RosterForm(ServiceForm):
    member_usernames = forms.CharField(
        max_length=2000, required=False, label="Members",
        help_text="Usernames in their order of turns, separated by commas: the first takes the first week.")

    class Meta:
        model = Roster
        fields = ("tenant", "name", "sites", "timezone", "handover_weekday", "handover_time", "starts_on")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk and "member_usernames" in self.fields:
            self.initial["member_usernames"] = ", ".join(
                self.instance.members.order_by("position").values_list("user__username", flat=True))
        if "timezone" in self.fields:
            self.fields["timezone"].required = False
            self.fields["timezone"].help_text = "IANA zone, e.g. Europe/Lisbon; the first site's when left empty."

    def save_through_service(self, cleaned):
        if not cleaned.get("tenant"):
            return None
        names = [name.strip() for name in (cleaned.get("member_usernames") or "").split(",") if name.strip()]
        found = {u.username: u for u in get_user_model().objects.filter(username__in=names,
                                                                         memberships__tenant=cleaned["tenant"])}
        unknown = [name for name in names if name not in found]
        if unknown:
            self.add_error("member_usernames", f"Not members of the tenant: {', '.join(unknown)}.")
            return None
        return rosters.roster_save(
            tenant=cleaned["tenant"], actor=Actor.for_user(self.request.user), name=cleaned["name"],
            members=[found[name] for name in names], handover_time=cleaned["handover_time"],
            starts_on=cleaned["starts_on"], handover_weekday=cleaned["handover_weekday"],
            sites=list(cleaned.get("sites") or []), timezone_name=cleaned.get("timezone") or "",
            roster=self.instance if self.instance.pk else None)


@admin.register(Roster)
class RosterAdmin(ServiceSaved, TenantScopedAdmin):
    form = RosterForm
    list_display = ("name", "timezone", "handover_weekday", "handover_time", "on_call_now", "tenant")
    list_filter = ("tenant",)
    filter_horizontal = ("sites",)

    def save_related(self, request, form, formsets, change):
        """The service saved the sites and members with the roster."""

    def delete_model(self, request, obj):
        rosters.roster_delete(roster=obj, actor=Actor.for_user(request.user))

    @admin.display(description="On call now")
    def on_call_now(self, roster):
        state = RosterState.load(roster, since=timezone.now(), until=timezone.now())
        user_id = state.on_call_at(timezone.now())
        return get_user_model().objects.filter(pk=user_id).values_list("username", flat=True).first() or "nobody"

    def get_urls(self):
        preview = path("<int:object_id>/preview/", self.admin_site.admin_view(self.preview_view),
                       name="oncall_roster_preview")
        return [preview, *super().get_urls()]

    def preview_view(self, request, object_id):
        """Who is on call when over the next weeks, in the roster's timezone."""
        roster = self.get_queryset(request).filter(pk=object_id).first()
        if roster is None:
            raise Http404
        try:
            days = max(1, min(62, int(request.GET.get("days", "28"))))
        except ValueError:
            days = 28
        start = timezone.now()
        state = RosterState.load(roster, since=start, until=start + timedelta(days=days))
        names = dict(get_user_model().objects.filter(
            pk__in={*state.member_ids, *[o.user_id for o in state.overrides]}).values_list("pk", "username"))
        zone = state.zone
        shifts = [{"start": shift.starts_at.astimezone(zone), "end": shift.ends_at.astimezone(zone),
                   "user": names.get(shift.user_id, "nobody"), "source": shift.source}
                  for shift in state.shifts(start, start + timedelta(days=days))]
        context = {**self.admin_site.each_context(request), "title": f"Who is on call: {roster.name}",
                   "opts": self.model._meta, "roster": roster, "shifts": shifts, "days": days}
        return TemplateResponse(request, "admin/oncall/roster_preview.html", context)


class RosterOverrideForm(ServiceForm):
    class Meta:
        model = RosterOverride
        fields = ("roster", "user", "starts_at", "ends_at", "reason")

    def save_through_service(self, cleaned):
        if self.instance.pk:
            self.add_error(None, "An override is not edited: delete it and make a new one.")
            return None
        return rosters.override_create(roster=cleaned["roster"], user=cleaned["user"], starts_at=cleaned["starts_at"],
                                       ends_at=cleaned["ends_at"], reason=cleaned.get("reason") or "",
                                       actor=Actor.for_user(self.request.user))


@admin.register(RosterOverride)
class RosterOverrideAdmin(ServiceSaved, TenantScopedAdmin):
    form = RosterOverrideForm
    list_display = ("roster", "user", "starts_at", "ends_at", "reason", "tenant")
    list_filter = ("tenant",)

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request, obj)

    def delete_model(self, request, obj):
        rosters.override_delete(override=obj, actor=Actor.for_user(request.user))


class MaintenanceWindowForm(ServiceForm):
    kinds = forms.MultipleChoiceField(choices=AlertKind.choices, required=False,
                                      widget=forms.CheckboxSelectMultiple,
                                      help_text="Alert kinds it holds; none ticked means every kind.")

    class Meta:
        model = MaintenanceWindow
        fields = ("site", "devices", "kinds", "starts_at", "ends_at", "reason")

    def save_through_service(self, cleaned):
        actor = Actor.for_user(self.request.user)
        fields = {name: cleaned.get(name) for name in ("starts_at", "ends_at", "reason")}
        fields["kinds"], fields["devices"] = list(cleaned.get("kinds") or []), list(cleaned.get("devices") or [])
        if self.instance.pk:
            return maintenance.maintenance_update(window=self.instance, actor=actor, **fields)
        return maintenance.maintenance_create(site=cleaned["site"], actor=actor, user=self.request.user, **fields)


@admin.register(MaintenanceWindow)
class MaintenanceWindowAdmin(ServiceSaved, TenantScopedAdmin):
    """Owners, admins and staff open and end windows (staff plan the work)."""

    form = MaintenanceWindowForm
    list_display = ("site", "starts_at", "ends_at", "reason", "created_by_label", "active", "tenant")
    list_filter = ("site", "tenant")
    actions = ["end_now"]
    search_fields = ("reason",)

    def _operator_tenant_ids(self, request) -> list[int]:
        return tenant_ids_where_role(request.user, OPERATOR_ROLES)

    def _operator_scope(self, request):
        """The tenants and sites this person operates in (a Lisbon-only operator: Lisbon)."""
        return scope_for_user(request.user, roles=OPERATOR_ROLES)

    def _can_manage(self, request, obj) -> bool:
        if request.user.is_superuser:
            return True
        if not request.user.is_staff:
            return False
        operated = self._operator_tenant_ids(request)
        if obj is None or obj.pk is None:
            return bool(operated)
        return obj.tenant_id in operated and self._operator_scope(request).filter(
            MaintenanceWindow.objects.filter(pk=obj.pk)).exists()

    def _limit_choices(self, request, model, queryset):
        if request.user.is_superuser or queryset is None:
            return queryset
        scope = tenant_scope(model, self._operator_tenant_ids(request))
        queryset = queryset if scope is None else queryset.filter(scope)
        if model is Site or model is Device:  # and only the sites (and their devices) they operate in
            queryset = self._operator_scope(request).filter(queryset)
        return queryset

    def get_form(self, request, obj=None, **kwargs):
        form_class = super().get_form(request, obj, **kwargs)
        if obj is not None and "site" in form_class.base_fields:
            form_class.base_fields["site"].disabled = True
        return form_class

    def save_related(self, request, form, formsets, change):
        """The service saved the devices with the window."""

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.starts_at <= timezone.now():
            return False  # it has begun: end it instead, so its history stays
        return super().has_delete_permission(request, obj)

    def delete_model(self, request, obj):
        maintenance.maintenance_delete(window=obj, actor=Actor.for_user(request.user))

    @admin.display(boolean=True, description="Active")
    def active(self, window):
        return window.starts_at <= timezone.now() < window.ends_at

    @admin.action(description="End the selected windows now")
    def end_now(self, request, queryset):
        ended = 0
        for window in queryset:
            if not self._can_manage(request, window):
                continue
            try:
                maintenance.maintenance_end(window=window, actor=Actor.for_user(request.user))
                ended += 1
            except ApplicationError as exc:
                self.message_user(request, f"{window}: {exc.message}", messages.WARNING)
        self.message_user(request, f"Ended {ended} window(s).", messages.SUCCESS)
