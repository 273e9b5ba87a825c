from django.contrib import admin

from apps.tenancy.admin_base import TenantScopedAdmin
from apps.tenancy.models import Membership, Site, Tenant


@admin.register(Tenant)
class TenantAdmin(TenantScopedAdmin):
    """Superusers manage tenants; members see their own tenants read-only."""

    list_display = ("name", "slug", "vertical", "is_active", "public_id", "created_at")
    list_filter = ("vertical", "is_active")
    search_fields = ("name", "slug", "public_id")
    readonly_fields = ("public_id", "created_at")

    def get_queryset(self, request):
        queryset = admin.ModelAdmin.get_queryset(self, request)
        if request.user.is_superuser:
            return queryset
        return queryset.filter(pk__in=self._visible_tenant_ids(request))

    def has_add_permission(self, request):
        return request.user.is_superuser

    def has_change_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser


@admin.register(Site)
class SiteAdmin(TenantScopedAdmin):
    list_display = ("name", "location_id", "kind", "tenant", "timezone", "public_id")
    list_filter = ("kind", "tenant")
    search_fields = ("name", "location_id", "public_id")
    readonly_fields = ("public_id", "created_at")


@admin.register(Membership)
class MembershipAdmin(TenantScopedAdmin):
    list_display = ("user", "tenant", "role", "created_at")
    list_filter = ("role", "tenant")
    search_fields = ("user__username", "user__email")
    readonly_fields = ("public_id", "created_at")
    autocomplete_fields = ()
