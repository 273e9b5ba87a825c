from django.contrib import admin, messages

from apps.audit.services import Actor
from apps.common.errors import ApplicationError
from apps.ingest import plant_rule_services
from apps.ingest.models import (
    AnomalyRule,
    HealthSample,
    RuleSet,
    Scan,
    SiblingRule,
    TelemetryReading,
    TelemetryThreshold,
)
from apps.ingest.services import rulesets
from apps.tenancy.admin_base import ReadOnlyTenantScopedAdmin, TenantScopedAdmin


@admin.register(RuleSet)
class RuleSetAdmin(TenantScopedAdmin):
    list_display = ("site", "tenant", "heartbeat_interval_seconds", "underage_age", "breach_enabled", "updated_at")
    list_filter = ("tenant",)
    readonly_fields = ("tenant", "site", "updated_at")

    def has_add_permission(self, request):
        return False  # created with defaults for the site's kind on first use

    def has_delete_permission(self, request, obj=None):
        return False  # a site always has rules; edit them instead

    def save_model(self, request, obj, form, change):
        rulesets.ruleset_save(ruleset=obj, changed=list(form.changed_data), actor=Actor.for_user(request.user))


@admin.register(TelemetryThreshold)
class TelemetryThresholdAdmin(TenantScopedAdmin):
    list_display = ("site", "metric", "inverter", "operator", "value", "sustained_seconds", "window", "severity",
                    "enabled")
    list_filter = ("site", "tenant", "enabled", "window")

    def save_model(self, request, obj, form, change):
        rulesets.threshold_save(threshold=obj, changed=list(form.changed_data), actor=Actor.for_user(request.user))
        if warning := plant_rule_services.daylight_warning(obj):
            self.message_user(request, warning, messages.WARNING)

    def delete_model(self, request, obj):
        rulesets.threshold_delete(threshold=obj, actor=Actor.for_user(request.user))

    def delete_queryset(self, request, queryset):
        for threshold in queryset:
            rulesets.threshold_delete(threshold=threshold, actor=Actor.for_user(request.user))


class PlantRuleAdmin(TenantScopedAdmin):
    """Anomaly and sibling rules of plants: every write through apps.ingest.plant_rule_services."""

    list_filter = ("site", "tenant", "enabled")
    exclude = ("tenant",)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        formfield = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if db_field.name == "site" and formfield is not None:
            formfield.queryset = formfield.queryset.filter(kind="plant", archived_at__isnull=True)
        return formfield

    def save_model(self, request, obj, form, change):
        try:
            plant_rule_services.plant_rule_save(rule=obj, changed=list(form.changed_data),
                                                actor=Actor.for_user(request.user))
        except ApplicationError as exc:
            self.message_user(request, exc.message, messages.ERROR)
            return
        if warning := plant_rule_services.daylight_warning(obj):
            self.message_user(request, warning, messages.WARNING)

    def delete_model(self, request, obj):
        plant_rule_services.plant_rule_delete(rule=obj, actor=Actor.for_user(request.user))

    def delete_queryset(self, request, queryset):
        for rule in queryset:
            plant_rule_services.plant_rule_delete(rule=rule, actor=Actor.for_user(request.user))


@admin.register(AnomalyRule)
class AnomalyRuleAdmin(PlantRuleAdmin):
    list_display = ("site", "metric", "inverter", "direction", "z_threshold", "alpha", "min_samples", "window",
                    "severity", "enabled")


@admin.register(SiblingRule)
class SiblingRuleAdmin(PlantRuleAdmin):
    list_display = ("site", "metric", "percent_below", "sustained_seconds", "min_siblings", "window", "severity",
                    "enabled")


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
