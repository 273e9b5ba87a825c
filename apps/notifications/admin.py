"""The admin of channels, policies and deliveries, for tenant owners and admins.

Every write goes through the same services as the API (`channel_create`, `policy_save`,
`policy_delete`, `quiet_hours_save`), so what the admin saves is validated and audited
exactly as an API call would be: a policy without steps can't be saved here either.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.forms.models import BaseInlineFormSet
from django.template.response import TemplateResponse
from django.urls import path

from apps.alerts.models import AlertKind, Severity
from apps.audit.services import Actor
from apps.common.errors import ApplicationError
from apps.notifications import channels, delivery, policies, selectors
from apps.notifications.models import (
    Channel,
    EscalationPolicy,
    EscalationStep,
    Notification,
    NotificationStatus,
    QuietHours,
)
from apps.tenancy.admin_base import (
    ArchivingDeleteMixin,
    ReadOnlyTenantScopedAdmin,
    TenantScopedAdmin,
    TenantScopedInline,
)
from apps.tenancy.models import Role, Tenant


def _add_service_error(form: forms.BaseForm, exc: ApplicationError) -> None:
    """An ApplicationError's field errors on the form's own fields, the rest on the form."""
    placed = False
    for field in (exc.fields or {}):
        if field in form.fields:
            form.add_error(field, exc.message)
            placed = True
    if not placed:
        form.add_error(None, exc.message)


class ServiceDeleteMixin:
    """Deletes go through the service (validated, audited); a delete the service would refuse
    shows no delete button, and a refused one in a bulk action is reported, not a 500.
    The admin using it defines `delete_refused(obj)` and `delete_through_service(obj, actor)`."""

    def has_delete_permission(self, request, obj=None):
        if obj is not None and self.delete_refused(obj):
            return False
        return super().has_delete_permission(request, obj)

    def delete_model(self, request, obj):
        self.delete_through_service(obj, Actor.for_user(request.user))

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            try:
                self.delete_through_service(obj, Actor.for_user(request.user))
            except ApplicationError as exc:
                self.message_user(request, f"{obj}: {exc.message}", messages.ERROR)


class ChannelForm(forms.ModelForm):
    secret = forms.CharField(required=False, widget=forms.PasswordInput(render_value=False), max_length=500,
                             help_text="Leave empty to keep the current secret. It is stored encrypted.")

    class Meta:
        model = Channel
        fields = ("tenant", "name", "kind", "target", "enabled")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "target" not in self.fields:  # a view-only page (staff): every field is read-only
            return
        self.fields["target"].required = False
        if self.instance.pk:
            self.fields["kind"].disabled = True  # a channel's kind is fixed; make a new channel instead

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("kind"):
            try:
                cleaned["target"] = channels.channel_validate(
                    kind=cleaned["kind"], target=cleaned.get("target") or "", secret=cleaned.get("secret") or None,
                    creating=not self.instance.pk)
            except ApplicationError as exc:
                _add_service_error(self, exc)
        return cleaned


@admin.register(Channel)
class ChannelAdmin(ServiceDeleteMixin, ArchivingDeleteMixin, TenantScopedAdmin):
    form = ChannelForm
    list_display = ("name", "kind", "target", "enabled", "archived_at", "tenant")
    list_filter = ("kind", "enabled", "tenant")
    search_fields = ("name", "public_id")
    actions = ["send_test_selected"]

    def get_queryset(self, request):
        return super().get_queryset(request).filter(personal=False)  # people's own channels are not listed

    def save_model(self, request, obj, form, change):
        data, actor = form.cleaned_data, Actor.for_user(request.user)
        if change:
            changes = {field: data[field] for field in ("name", "target", "enabled") if field in form.changed_data}
            if data.get("secret"):
                changes["secret"] = data["secret"]
            channels.channel_update(channel=obj, actor=actor, **changes)
            return
        created = channels.channel_create(tenant=data["tenant"], name=data["name"], kind=data["kind"],
                                          target=data.get("target") or "", secret=data.get("secret") or "",
                                          actor=actor, enabled=data.get("enabled", True))
        obj.pk, obj.public_id, obj.created_at = created.pk, created.public_id, created.created_at
        obj.target, obj.secret_encrypted = created.target, created.secret_encrypted
        obj._state.adding = False

    def delete_refused(self, obj) -> bool:
        return bool(channels.channel_in_use_by(obj))  # a step would be left paging nobody

    def delete_through_service(self, obj, actor: Actor) -> None:
        channels.channel_delete(channel=obj, actor=actor)

    @admin.action(description="Send a test message to the selected channels")
    def send_test_selected(self, request, queryset):
        for channel in queryset:
            if not self._can_manage(request, channel):
                continue
            result = channels.channel_send_test(channel=channel, actor=Actor.for_user(request.user))
            if result.ok:
                self.message_user(request, f"{channel.name}: test sent through {result.provider}.", messages.SUCCESS)
            else:
                self.message_user(request, f"{channel.name}: the test was not delivered ({result.error}).",
                                  messages.ERROR)


class StepFormSet(BaseInlineFormSet):
    """Validates the steps with the policy, through the same check as the API's."""

    def steps(self) -> list[dict]:
        kept = [form.cleaned_data for form in self.forms
                if form.cleaned_data and not form.cleaned_data.get("DELETE")]
        return sorted(({"delay_minutes": data["delay_minutes"], "channels": list(data.get("channels") or []),
                        "users": list(data.get("users") or []), "rosters": list(data.get("rosters") or []),
                        "site_roster": bool(data.get("site_roster")), "site_roles": list(data.get("site_roles") or [])}
                       for data in kept), key=lambda step: step["delay_minutes"])

    def clean(self):
        super().clean()
        if any(self.errors) or not self.instance.tenant_id:
            return
        try:
            policies.policy_validate(tenant=self.instance.tenant, kinds=self.instance.kinds or [],
                                     severities=self.instance.severities or [], steps=self.steps())
        except ApplicationError as exc:
            raise ValidationError(exc.message) from exc


class StepForm(forms.ModelForm):
    site_roles = forms.MultipleChoiceField(choices=Role.choices, required=False, widget=forms.CheckboxSelectMultiple,
                                           help_text="Everyone with these roles who covers the alert's site.")

    class Meta:
        model = EscalationStep
        fields = ("delay_minutes", "channels", "users", "rosters", "site_roster", "site_roles")


class StepInline(TenantScopedInline, admin.TabularInline):
    model = EscalationStep
    form = StepForm
    formset = StepFormSet
    fields = ("delay_minutes", "channels", "users", "rosters", "site_roster", "site_roles")

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        formfield = super().formfield_for_manytomany(db_field, request, **kwargs)
        if db_field.name == "channels" and formfield is not None:
            formfield.queryset = formfield.queryset.filter(personal=False)  # people are chosen as people
        return formfield

    extra = 1
    min_num = 1
    validate_min = True
    verbose_name = "step"
    verbose_name_plural = "steps (who is paged, and after how many minutes nobody acknowledged)"


class PolicyForm(forms.ModelForm):
    kinds = forms.MultipleChoiceField(choices=AlertKind.choices, required=False,
                                      widget=forms.CheckboxSelectMultiple,
                                      help_text="Alert kinds this policy covers; none ticked means every kind.")
    severities = forms.MultipleChoiceField(choices=Severity.choices, required=False,
                                           widget=forms.CheckboxSelectMultiple,
                                           help_text="None ticked means every severity.")

    class Meta:
        model = EscalationPolicy
        fields = ("tenant", "name", "priority", "kinds", "severities", "sites", "repeat_times",
                  "repeat_after_minutes", "notify_on_acknowledge", "notify_on_resolve", "enabled")

    def clean_repeat_times(self):
        value = self.cleaned_data["repeat_times"]
        if value > 5:
            raise ValidationError("At most 5 repeats.")
        return value

    def clean(self):
        cleaned = super().clean()
        if self.instance.pk and cleaned.get("enabled") is False:
            try:
                policies.ensure_not_last_enabled(self.instance)
            except ApplicationError as exc:
                self.add_error("enabled", exc.message)
        return cleaned


@admin.register(EscalationPolicy)
class EscalationPolicyAdmin(ServiceDeleteMixin, TenantScopedAdmin):
    form = PolicyForm
    list_display = ("name", "priority", "kinds", "severities", "repeat_times", "enabled", "is_catch_all", "tenant")
    list_filter = ("enabled", "tenant")
    inlines = [StepInline]
    change_list_template = "admin/notifications/escalationpolicy/change_list.html"

    def save_model(self, request, obj, form, change):
        """Saved with its steps in `save_related`, in one call to the service."""

    def save_related(self, request, form, formsets, change):
        steps_formset = next(formset for formset in formsets if isinstance(formset, StepFormSet))
        data = form.cleaned_data
        policies.policy_save(
            tenant=data["tenant"], actor=Actor.for_user(request.user), name=data["name"],
            steps=steps_formset.steps(), kinds=data.get("kinds") or [], severities=data.get("severities") or [],
            sites=list(data.get("sites") or []), policy=form.instance,
            **{field: data[field] for field in ("priority", "repeat_times", "repeat_after_minutes",
                                                "notify_on_acknowledge", "notify_on_resolve", "enabled")})
        for formset in formsets:  # read by the admin's change message; the service saved the steps
            formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []

    def delete_refused(self, obj) -> bool:
        return obj.enabled and not policies.keeps_an_enabled_policy(obj)  # alerts would page nobody

    def delete_through_service(self, obj, actor: Actor) -> None:
        policies.policy_delete(policy=obj, actor=actor)

    def get_urls(self):
        preview = path("routing-preview/", self.admin_site.admin_view(self.routing_preview_view),
                       name="notifications_escalationpolicy_routing_preview")
        return [preview, *super().get_urls()]

    def routing_preview_view(self, request):
        """Which policy would page each kind of alert at each site, for one severity."""
        tenants = Tenant.objects.filter(pk__in=self._scope(request).whole_tenant_ids) \
            if not request.user.is_superuser else Tenant.objects.all()
        tenant = tenants.filter(public_id=request.GET.get("tenant", "")).first() or tenants.order_by("name").first()
        severity = request.GET.get("severity") if request.GET.get("severity") in Severity.values else Severity.CRITICAL
        entries = selectors.routing_preview(tenant=tenant, severities=[severity]) if tenant else []
        places, rows = [], {}
        for entry in entries:
            if entry["site"] not in [place["site"] for place in places]:
                places.append({"site": entry["site"], "name": entry["site_name"] or "Alerts without a site"})
            rows.setdefault(entry["kind"], []).append(entry)
        context = {
            **self.admin_site.each_context(request), "title": "Routing preview", "opts": self.model._meta,
            "tenants": tenants.order_by("name"), "tenant": tenant, "severity": severity,
            "severities": Severity.choices, "places": places,
            "rows": [(AlertKind(kind).label, cells) for kind, cells in rows.items()],
        }
        return TemplateResponse(request, "admin/notifications/routing_preview.html", context)


class QuietHoursForm(forms.ModelForm):
    class Meta:
        model = QuietHours
        fields = ("site", "start", "end", "enabled")


@admin.register(QuietHours)
class QuietHoursAdmin(TenantScopedAdmin):
    form = QuietHoursForm
    list_display = ("site", "start", "end", "enabled", "tenant")

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        saved = channels.quiet_hours_save(site=data["site"], start=data["start"], end=data["end"],
                                          enabled=data["enabled"], actor=Actor.for_user(request.user))
        obj.pk, obj.tenant_id, obj._state.adding = saved.pk, saved.tenant_id, False

    def delete_model(self, request, obj):
        channels.quiet_hours_delete(quiet_hours=obj, actor=Actor.for_user(request.user))

    def delete_queryset(self, request, queryset):
        for quiet_hours in queryset:
            channels.quiet_hours_delete(quiet_hours=quiet_hours, actor=Actor.for_user(request.user))


@admin.register(Notification)
class NotificationAdmin(ReadOnlyTenantScopedAdmin):
    list_display = ("created_at", "alert", "channel", "cycle", "step", "purpose", "status", "attempts", "error_code",
                    "receipt_status", "tenant")
    list_filter = ("status", "purpose", "channel__kind", "tenant")
    search_fields = ("public_id", "provider_message_id", "alert__public_id")
    list_select_related = ("alert", "channel", "tenant")
    actions = ["replay_selected"]

    def get_actions(self, request):
        actions = super().get_actions(request)
        if not self._can_manage(request, None):
            actions.pop("replay_selected", None)
        return actions

    @admin.action(description="Replay selected dead or failed deliveries")
    def replay_selected(self, request, queryset):
        replayed = 0
        for notification in queryset.filter(status__in=[NotificationStatus.DEAD, NotificationStatus.FAILED]):
            if self._can_manage(request, notification):
                delivery.replay(notification)
                replayed += 1
        self.message_user(request, f"Replaying {replayed} deliveries.", messages.SUCCESS)
