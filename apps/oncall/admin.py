"""Admin pages for people's contact methods and rules, rosters, overrides and maintenance.

Every save and delete goes through the oncall services (validated, audited once). A
person manages their own contact methods and rules; owners and admins manage everyone's.
"""

from __future__ import annotations

from datetime import timedelta

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone

from apps.alerts.models import AlertKind
from apps.audit.services import Actor
from apps.common.errors import ApplicationError
from apps.oncall import contacts, maintenance, rosters
from apps.oncall.models import ContactMethod, MaintenanceWindow, NotificationRule, Roster, RosterOverride
from apps.oncall.rotation import RosterState
from apps.tenancy.admin_base import TenantScopedAdmin


def _service_error(form: forms.BaseForm, exc: ApplicationError) -> None:
    placed = [name for name in (exc.fields or {}) if name in form.fields]
    for name in placed:
        form.add_error(name, exc.message)
    if not placed:
        form.add_error(None, exc.message)


class _ServiceSaved:
    """The admin's own save and delete are replaced by the service call of each admin."""

    def save_model(self, request, obj, form, change):
        saved = form.saved
        obj.pk, obj._state.adding = saved.pk, False

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            if self.has_delete_permission(request, obj):
                self.delete_model(request, obj)


class PersonalAdmin(_ServiceSaved, TenantScopedAdmin):
    """Own rows for everyone; every row of the tenant for its owners and admins."""

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        managed = self._managed_tenant_ids(request)
        return queryset.filter(Q(tenant__in=managed) | Q(user=request.user))

    def has_add_permission(self, request):
        return request.user.is_superuser or (request.user.is_staff and bool(self._visible_tenant_ids(request)))

    def has_change_permission(self, request, obj=None):
        if obj is not None and obj.user_id == request.user.pk:
            return True
        return super().has_change_permission(request, obj) if obj is not None else self.has_add_permission(request)

    def has_delete_permission(self, request, obj=None):
        return self.has_change_permission(request, obj)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        formfield = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if request.user.is_superuser or formfield is None:
            return formfield
        if db_field.name == "tenant":
            formfield.queryset = db_field.related_model.objects.filter(pk__in=self._visible_tenant_ids(request))
        if db_field.name == "user":
            managed = self._managed_tenant_ids(request)
            formfield.queryset = get_user_model().objects.filter(
                pk__in=get_user_model().objects.filter(memberships__tenant__in=managed).values("pk")
            ) | get_user_model().objects.filter(pk=request.user.pk)
        if db_field.name == "contact_method":
            formfield.queryset = self.get_queryset_for(ContactMethod, request)
        return formfield

    def get_queryset_for(self, model, request):
        if request.user.is_superuser:
            return model.objects.all()
        return model.objects.filter(Q(tenant__in=self._managed_tenant_ids(request)) | Q(user=request.user))

    def _may_act_for(self, request, tenant, user) -> bool:
        return request.user.is_superuser or user == request.user or tenant.pk in self._managed_tenant_ids(request)


class ContactMethodForm(forms.ModelForm):
    class Meta:
        model = ContactMethod
        fields = ("tenant", "user", "kind", "address", "label")


@admin.register(ContactMethod)
class ContactMethodAdmin(PersonalAdmin):
    form = ContactMethodForm
    list_display = ("user", "kind", "address", "label", "tenant")
    list_filter = ("kind", "tenant")
    search_fields = ("user__username", "label")

    def get_form(self, request, obj=None, **kwargs):
        form_class = super().get_form(request, obj, **kwargs)
        admin_self = self

        class Form(form_class):
            def clean(self):
                cleaned = super().clean()
                if self.errors:
                    return cleaned
                actor = Actor.for_user(request.user)
                try:
                    if self.instance.pk:
                        self.saved = contacts.contact_method_update(method=self.instance, actor=actor,
                                                                    address=cleaned["address"],
                                                                    label=cleaned.get("label", ""))
                    elif not admin_self._may_act_for(request, cleaned["tenant"], cleaned["user"]):
                        self.add_error("user", "Only owners and admins add contact methods for others.")
                    else:
                        self.saved = contacts.contact_method_create(
                            tenant=cleaned["tenant"], user=cleaned["user"], kind=cleaned["kind"],
                            address=cleaned["address"], label=cleaned.get("label", ""), actor=actor)
                except ApplicationError as exc:
                    _service_error(self, exc)
                return cleaned

        if obj is not None:
            for name in ("tenant", "user", "kind"):
                if name in Form.base_fields:
                    Form.base_fields[name].disabled = True
        return Form

    def delete_model(self, request, obj):
        contacts.contact_method_delete(method=obj, actor=Actor.for_user(request.user))


class NotificationRuleForm(forms.ModelForm):
    class Meta:
        model = NotificationRule
        fields = ("contact_method", "delay_minutes")


@admin.register(NotificationRule)
class NotificationRuleAdmin(PersonalAdmin):
    form = NotificationRuleForm
    list_display = ("user", "contact_method", "delay_minutes", "tenant")
    list_filter = ("tenant",)

    def get_form(self, request, obj=None, **kwargs):
        form_class = super().get_form(request, obj, **kwargs)

        class Form(form_class):
            def clean(self):
                cleaned = super().clean()
                if self.errors:
                    return cleaned
                actor = Actor.for_user(request.user)
                try:
                    if self.instance.pk:
                        self.saved = contacts.notification_rule_update(rule=self.instance, actor=actor,
                                                                       delay_minutes=cleaned["delay_minutes"])
                    else:
                        self.saved = contacts.notification_rule_create(method=cleaned["contact_method"],
                                                                       delay_minutes=cleaned["delay_minutes"],
                                                                       actor=actor)
                except ApplicationError as exc:
                    _service_error(self, exc)
                return cleaned

        if obj is not None and "contact_method" in Form.base_fields:
            Form.base_fields["contact_method"].disabled = True
        return Form

    def delete_model(self, request, obj):
        contacts.notification_rule_delete(rule=obj, actor=Actor.for_user(request.user))


class RosterForm(forms.ModelForm):
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

    def clean(self):
        cleaned = super().clean()
        if self.errors or not cleaned.get("tenant"):
            return cleaned
        names = [name.strip() for name in (cleaned.get("member_usernames") or "").split(",") if name.strip()]
        found = {u.username: u for u in get_user_model().objects.filter(username__in=names,
                                                                         memberships__tenant=cleaned["tenant"])}
        unknown = [name for name in names if name not in found]
        if unknown:
            self.add_error("member_usernames", f"Not members of the tenant: {', '.join(unknown)}.")
            return cleaned
        try:
            self.saved = rosters.roster_save(
                tenant=cleaned["tenant"], actor=Actor.for_user(self.request_user), name=cleaned["name"],
                members=[found[name] for name in names], handover_time=cleaned["handover_time"],
                starts_on=cleaned["starts_on"], handover_weekday=cleaned["handover_weekday"],
                sites=list(cleaned.get("sites") or []), timezone_name=cleaned.get("timezone") or "",
                roster=self.instance if self.instance.pk else None)
        except ApplicationError as exc:
            _service_error(self, exc)
        return cleaned


@admin.register(Roster)
class RosterAdmin(_ServiceSaved, TenantScopedAdmin):
    form = RosterForm
    list_display = ("name", "timezone", "handover_weekday", "handover_time", "on_call_now", "tenant")
    list_filter = ("tenant",)
    filter_horizontal = ("sites",)

    def get_form(self, request, obj=None, **kwargs):
        form_class = super().get_form(request, obj, **kwargs)
        form_class.request_user = request.user
        return form_class

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
            from django.http import Http404

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


class RosterOverrideForm(forms.ModelForm):
    class Meta:
        model = RosterOverride
        fields = ("roster", "user", "starts_at", "ends_at", "reason")

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        if self.instance.pk:
            raise ValidationError("An override is not edited: delete it and make a new one.")
        try:
            self.saved = rosters.override_create(roster=cleaned["roster"], user=cleaned["user"],
                                                 starts_at=cleaned["starts_at"], ends_at=cleaned["ends_at"],
                                                 reason=cleaned.get("reason") or "",
                                                 actor=Actor.for_user(self.request_user))
        except ApplicationError as exc:
            _service_error(self, exc)
        return cleaned


@admin.register(RosterOverride)
class RosterOverrideAdmin(_ServiceSaved, TenantScopedAdmin):
    form = RosterOverrideForm
    list_display = ("roster", "user", "starts_at", "ends_at", "reason", "tenant")
    list_filter = ("tenant",)

    def get_form(self, request, obj=None, **kwargs):
        form_class = super().get_form(request, obj, **kwargs)
        form_class.request_user = request.user
        return form_class

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request, obj)

    def delete_model(self, request, obj):
        rosters.override_delete(override=obj, actor=Actor.for_user(request.user))


class MaintenanceWindowForm(forms.ModelForm):
    kinds = forms.MultipleChoiceField(choices=AlertKind.choices, required=False,
                                      widget=forms.CheckboxSelectMultiple,
                                      help_text="Alert kinds it holds; none ticked means every kind.")

    class Meta:
        model = MaintenanceWindow
        fields = ("site", "devices", "kinds", "starts_at", "ends_at", "reason")

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        actor = Actor.for_user(self.request_user)
        fields = {name: cleaned.get(name) for name in ("starts_at", "ends_at", "reason")}
        fields["kinds"], fields["devices"] = list(cleaned.get("kinds") or []), list(cleaned.get("devices") or [])
        try:
            if self.instance.pk:
                self.saved = maintenance.maintenance_update(window=self.instance, actor=actor, **fields)
            else:
                self.saved = maintenance.maintenance_create(site=cleaned["site"], actor=actor, user=self.request_user,
                                                            **fields)
        except ApplicationError as exc:
            _service_error(self, exc)
        return cleaned


@admin.register(MaintenanceWindow)
class MaintenanceWindowAdmin(_ServiceSaved, TenantScopedAdmin):
    """Owners, admins and staff open and end windows (staff plan the work)."""

    form = MaintenanceWindowForm
    list_display = ("site", "starts_at", "ends_at", "reason", "created_by_label", "active", "tenant")
    list_filter = ("site", "tenant")
    actions = ["end_now"]
    search_fields = ("reason",)

    def _operator_tenant_ids(self, request) -> list[int]:
        from apps.tenancy.context import tenant_ids_where_role
        from apps.tenancy.models import OPERATOR_ROLES

        return tenant_ids_where_role(request.user, OPERATOR_ROLES)

    def _can_manage(self, request, obj) -> bool:
        if request.user.is_superuser:
            return True
        if not request.user.is_staff:
            return False
        operated = self._operator_tenant_ids(request)
        return bool(operated) if obj is None else obj.tenant_id in operated

    def _limit_choices(self, request, model, queryset):
        if request.user.is_superuser or queryset is None:
            return queryset
        from apps.tenancy.admin_base import tenant_scope

        scope = tenant_scope(model, self._operator_tenant_ids(request))
        return queryset if scope is None else queryset.filter(scope)

    def get_form(self, request, obj=None, **kwargs):
        form_class = super().get_form(request, obj, **kwargs)
        form_class.request_user = request.user
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
