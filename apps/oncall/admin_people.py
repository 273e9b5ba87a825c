"""Admin pages for people's contact methods and notification rules.

Every save and delete goes through the oncall services (validated, audited once). A
person manages their own contact methods and rules; owners and admins manage everyone's.
"""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.db.models import Q

from apps.audit.services import Actor
from apps.oncall import contacts
from apps.oncall.models import ContactMethod, NotificationRule
from apps.tenancy.admin_base import TenantScopedAdmin
from apps.tenancy.admin_forms import ServiceForm, ServiceSaved


class PersonalAdmin(ServiceSaved, TenantScopedAdmin):
    """Own rows for everyone, whatever their sites; every row of the tenant for its owners
    and admins who cover the whole tenant (a site-scoped manager manages only their own:
    the rows are personal and say nothing of a site, see README "Per-site access")."""

    def _managed_whole(self, request) -> frozenset[int]:
        return self._managed_scope(request).whole_tenant_ids

    def get_queryset(self, request):
        queryset = admin.ModelAdmin.get_queryset(self, request)  # personal rows: no site scope
        if request.user.is_superuser:
            return queryset
        return queryset.filter(tenant__in=self._visible_tenant_ids(request)).filter(
            Q(tenant__in=self._managed_whole(request)) | Q(user=request.user))

    def has_module_permission(self, request):
        return request.user.is_superuser or (request.user.is_staff and bool(self._visible_tenant_ids(request)))

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
            managed = self._managed_whole(request)
            formfield.queryset = get_user_model().objects.filter(
                pk__in=get_user_model().objects.filter(memberships__tenant__in=managed).values("pk")
            ) | get_user_model().objects.filter(pk=request.user.pk)
        if db_field.name == "contact_method":
            formfield.queryset = self.get_queryset_for(ContactMethod, request)
        return formfield

    def get_queryset_for(self, model, request):
        if request.user.is_superuser:
            return model.objects.all()
        return model.objects.filter(Q(tenant__in=self._managed_whole(request)) | Q(user=request.user))

    def _may_act_for(self, request, tenant, user) -> bool:
        return request.user.is_superuser or user == request.user or tenant.pk in self._managed_whole(request)


class ContactMethodForm(ServiceForm):
    class Meta:
        model = ContactMethod
        fields = ("tenant", "user", "kind", "address", "label")

    def save_through_service(self, cleaned):
        actor = Actor.for_user(self.request.user)
        if self.instance.pk:
            return contacts.contact_method_update(method=self.instance, actor=actor, address=cleaned["address"],
                                                  label=cleaned.get("label", ""))
        if not self.model_admin._may_act_for(self.request, cleaned["tenant"], cleaned["user"]):
            self.add_error("user", "Only owners and admins add contact methods for others.")
            return None
        return contacts.contact_method_create(tenant=cleaned["tenant"], user=cleaned["user"], kind=cleaned["kind"],
                                              address=cleaned["address"], label=cleaned.get("label", ""), actor=actor)


@admin.register(ContactMethod)
class ContactMethodAdmin(PersonalAdmin):
    form = ContactMethodForm
    list_display = ("user", "kind", "address", "label", "tenant")
    list_filter = ("kind", "tenant")
    search_fields = ("user__username", "label")

    def get_form(self, request, obj=None, **kwargs):
        form_class = super().get_form(request, obj, **kwargs)
        if obj is not None:
            for name in ("tenant", "user", "kind"):
                if name in form_class.base_fields:
                    form_class.base_fields[name].disabled = True
        return form_class

    def delete_model(self, request, obj):
        contacts.contact_method_delete(method=obj, actor=Actor.for_user(request.user))


class NotificationRuleForm(ServiceForm):
    class Meta:
        model = NotificationRule
        fields = ("contact_method", "delay_minutes")

    def save_through_service(self, cleaned):
        actor = Actor.for_user(self.request.user)
        if self.instance.pk:
            return contacts.notification_rule_update(rule=self.instance, actor=actor,
                                                     delay_minutes=cleaned["delay_minutes"])
        return contacts.notification_rule_create(method=cleaned["contact_method"],
                                                 delay_minutes=cleaned["delay_minutes"], actor=actor)


@admin.register(NotificationRule)
class NotificationRuleAdmin(PersonalAdmin):
    form = NotificationRuleForm
    list_display = ("user", "contact_method", "delay_minutes", "tenant")
    list_filter = ("tenant",)

    def get_form(self, request, obj=None, **kwargs):
        form_class = super().get_form(request, obj, **kwargs)
        if obj is not None and "contact_method" in form_class.base_fields:
            form_class.base_fields["contact_method"].disabled = True
        return form_class

    def delete_model(self, request, obj):
        contacts.notification_rule_delete(rule=obj, actor=Actor.for_user(request.user))
