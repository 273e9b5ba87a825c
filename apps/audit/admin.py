from django.contrib import admin

from apps.audit.models import AuditEntry
from apps.tenancy.admin_base import ReadOnlyTenantScopedAdmin


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyTenantScopedAdmin):
    list_display = ("created_at", "tenant", "seq", "action", "actor_type", "actor_label", "target_type",
                    "target_id")
    list_filter = ("action", "actor_type", "tenant")
    search_fields = ("action", "actor_label", "target_id", "request_id", "public_id")
    ordering = ("-created_at",)
    list_select_related = ("tenant",)
