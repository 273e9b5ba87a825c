"""Admin for tenants, sites and memberships: every save and delete goes through the services,
which validate and audit it once."""

from django import forms
from django.contrib import admin, messages

from apps.common.errors import ApplicationError
from apps.tenancy import retention_services, services
from apps.tenancy.admin_base import ArchivingDeleteMixin, TenantScopedAdmin
from apps.tenancy.models import LegalHold, Membership, RetentionPolicy, Role, Site, Tenant


def _adopt(obj, saved) -> None:
    """The admin goes on with the form's instance (change message, redirect): make it the saved row."""
    obj.pk, obj._state.adding = saved.pk, False
    for field in ("public_id", "created_at"):
        if hasattr(saved, field):
            setattr(obj, field, getattr(saved, field))


def _form_changes(form, fields) -> dict:
    return {field: form.cleaned_data[field] for field in fields if field in form.changed_data}


TENANT_FIELDS = ("name", "slug", "vertical", "is_active", "require_two_factor")


@admin.register(Tenant)
class TenantAdmin(TenantScopedAdmin):
    """Superusers manage tenants; members see their own tenants read-only, except that its
    owners turn two-factor sign-in on or off for it."""

    list_display = ("name", "slug", "vertical", "is_active", "require_two_factor", "public_id", "created_at")
    list_filter = ("vertical", "is_active")
    search_fields = ("name", "slug", "public_id")
    readonly_fields = ("public_id", "created_at")

    def get_readonly_fields(self, request, obj=None):
        if request.user.is_superuser:
            return self.readonly_fields
        return ("name", "slug", "vertical", "is_active", "public_id", "created_at")

    def get_queryset(self, request):
        queryset = admin.ModelAdmin.get_queryset(self, request)
        if request.user.is_superuser:
            return queryset
        return queryset.filter(pk__in=self._visible_tenant_ids(request))

    def has_add_permission(self, request):
        return request.user.is_superuser

    def has_change_permission(self, request, obj=None):
        if request.user.is_superuser:
            return True
        owned = Membership.objects.filter(user=request.user, role=Role.OWNER)
        return owned.filter(tenant=obj).exists() if obj is not None else owned.exists()

    def has_delete_permission(self, request, obj=None):
        return False  # a tenant is erased by `manage.py tenant_erase`, which exports and tombstones it

    def save_model(self, request, obj, form, change):
        if change and not request.user.is_superuser:
            services.tenant_two_factor_set(tenant=Tenant.objects.get(pk=obj.pk), actor=request.user,
                                           required=form.cleaned_data["require_two_factor"])
            return
        if change:
            services.tenant_update(tenant=obj, actor=request.user,
                                   **_form_changes(form, TENANT_FIELDS))
            return
        data = form.cleaned_data
        _adopt(obj, services.tenant_create(name=data["name"], slug=data["slug"], vertical=data["vertical"],
                                           actor=request.user))


SITE_FIELDS = ("name", "location_id", "kind", "timezone", "address", "business_hours", "outage_threshold",
               "outage_window_seconds", "latitude", "longitude")


@admin.register(Site)
class SiteAdmin(ArchivingDeleteMixin, TenantScopedAdmin):
    """Deleting a site deprovisions it: devices and setup tokens revoked, the site archived
    while anything recorded points at it."""

    list_display = ("name", "location_id", "kind", "tenant", "timezone", "archived_at", "public_id")
    list_filter = ("kind", "tenant")
    search_fields = ("name", "location_id", "public_id")
    readonly_fields = ("public_id", "created_at", "archived_at")

    def save_model(self, request, obj, form, change):
        if change:
            services.site_update(site=Site.objects.get(pk=obj.pk), actor=request.user,
                                 **_form_changes(form, SITE_FIELDS))
            return
        data = form.cleaned_data
        _adopt(obj, services.site_create(tenant=data["tenant"], actor=request.user,
                                         **{field: data[field] for field in SITE_FIELDS if field in data}))

    def get_readonly_fields(self, request, obj=None):
        return (*self.readonly_fields, "tenant") if obj is not None else self.readonly_fields

    def delete_model(self, request, obj):
        services.site_delete(site=obj, actor=request.user)

    def delete_queryset(self, request, queryset):
        for site in queryset:
            try:
                outcome = services.site_delete(site=site, actor=request.user)
            except ApplicationError as exc:
                self.message_user(request, f"{site}: {exc.message}", messages.ERROR)
                continue
            if outcome == "archived":
                self.message_user(request, f"{site}: archived (it has history); its devices and setup tokens "
                                           "are revoked.", messages.WARNING)


from apps.tenancy import admin_members  # noqa: E402,F401  (members and invitations register on import)


@admin.register(RetentionPolicy)
class RetentionPolicyAdmin(TenantScopedAdmin):
    """A tenant's own period for a table; deleting it returns to the platform default."""

    list_display = ("tenant", "table", "days", "updated_at")
    list_filter = ("table", "tenant")
    readonly_fields = ("public_id", "updated_at")

    def get_readonly_fields(self, request, obj=None):
        return (*self.readonly_fields, "tenant", "table") if obj is not None else self.readonly_fields

    def save_model(self, request, obj, form, change):
        _adopt(obj, retention_services.retention_policy_set(tenant=obj.tenant, table=obj.table,
                                                            days=form.cleaned_data["days"], actor=request.user))

    def delete_model(self, request, obj):
        retention_services.retention_policy_delete(policy=obj, actor=request.user)

    def delete_queryset(self, request, queryset):
        for policy in queryset:
            retention_services.retention_policy_delete(policy=policy, actor=request.user)


class LegalHoldForm(forms.ModelForm):
    class Meta:
        model = LegalHold
        fields = ("tenant", "site", "reason")

    def clean(self):
        cleaned = super().clean()
        site, tenant = cleaned.get("site"), cleaned.get("tenant")
        if site is not None and tenant is not None and site.tenant_id != tenant.pk:
            self.add_error("site", "That site belongs to another tenant.")
        return cleaned


@admin.register(LegalHold)
class LegalHoldAdmin(TenantScopedAdmin):
    """Placed and released, never edited or deleted: the record of a hold is itself evidence."""

    form = LegalHoldForm
    list_display = ("tenant", "site", "reason", "placed_by", "created_at", "released_at")
    list_filter = ("tenant",)
    readonly_fields = ("public_id", "placed_by", "created_at", "released_at")
    actions = ["release_selected"]

    def has_change_permission(self, request, obj=None):
        return False if obj is not None else super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        _adopt(obj, retention_services.legal_hold_place(tenant=data["tenant"], site=data.get("site"),
                                                        reason=data["reason"], actor=request.user))

    @admin.action(description="Release selected holds")
    def release_selected(self, request, queryset):
        for hold in queryset.filter(released_at__isnull=True):
            if self._can_manage(request, hold):
                retention_services.legal_hold_release(hold=hold, actor=request.user)
        self.message_user(request, "Released.", messages.SUCCESS)
