from django.contrib import admin

from apps.ingest.models import HealthSample, RuleSet, Scan, TelemetryReading, TelemetryThreshold
from apps.ingest.rules import forget_site_rules
from apps.tenancy.admin_base import ReadOnlyTenantScopedAdmin, TenantScopedAdmin


@admin.register(RuleSet)
class RuleSetAdmin(TenantScopedAdmin):
    list_display = ("site", "tenant", "heartbeat_interval_seconds", "underage_age", "breach_enabled", "updated_at")
    list_filter = ("tenant",)
    readonly_fields = ("tenant", "site", "updated_at")

    def has_add_permission(self, request):
        return False  # created with defaults for the site's kind on first use

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        forget_site_rules(obj.site_id)


@admin.register(TelemetryThreshold)
class TelemetryThresholdAdmin(TenantScopedAdmin):
    list_display = ("site", "metric", "operator", "value", "sustained_seconds", "severity", "enabled")
    list_filter = ("site", "tenant", "enabled")

    def save_model(self, request, obj, form, change):
        obj.tenant_id = obj.site.tenant_id
        super().save_model(request, obj, form, change)
        forget_site_rules(obj.site_id)


@admin.register(Scan)
class ScanAdmin(ReadOnlyTenantScopedAdmin):
    list_display = ("scanned_at", "site", "device", "age", "age_band", "is_underage", "is_valid",
                    "document_expired", "jurisdiction")
    list_filter = ("is_underage", "is_valid", "document_expired", "age_band", "site", "tenant")
    list_select_related = ("site", "device")
    date_hierarchy = "scanned_at"


@admin.register(HealthSample)
class HealthSampleAdmin(ReadOnlyTenantScopedAdmin):
    list_display = ("sent_at", "device", "battery_level", "rssi", "cpu_percent", "temperature_c", "scanner_status")
    list_filter = ("tenant",)
    list_select_related = ("device",)
    date_hierarchy = "sent_at"


@admin.register(TelemetryReading)
class TelemetryReadingAdmin(ReadOnlyTenantScopedAdmin):
    list_display = ("ts", "device", "metric", "value", "unit")
    list_filter = ("metric", "tenant")
    list_select_related = ("device",)
