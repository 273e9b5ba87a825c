"""The admin of escalation policies and their steps, for tenant owners and admins.

A policy and its steps are saved in one call to `policy_save`, validated by the same check
as the API's (`policy_validate`), so a policy without steps can't be saved here either;
the routing preview shows which policy would page each kind of alert at each site.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.forms.models import BaseInlineFormSet
from django.template.response import TemplateResponse
from django.urls import path

from apps.alerts.models import AlertKind, Severity
from apps.audit.services import Actor
from apps.common.errors import ApplicationError
from apps.notifications import policies, selectors
from apps.notifications.admin_channels import ServiceDeleteMixin
from apps.notifications.models import EscalationPolicy, EscalationStep
from apps.tenancy.admin_base import TenantScopedAdmin, TenantScopedInline
from apps.tenancy.models import Role, Tenant


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
