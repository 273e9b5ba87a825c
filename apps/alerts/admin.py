from django.contrib import admin, messages
from django.utils.html import format_html, format_html_join

from apps.alerts import services
from apps.alerts.models import Alert, AlertEvent
from apps.alerts.snoozing import alert_snooze, snooze_minutes
from apps.audit.services import Actor
from apps.common.errors import ApplicationError
from apps.tenancy.admin_base import TenantScopedAdmin
from apps.tenancy.models import OPERATOR_ROLES


class AlertEventInline(admin.TabularInline):
    model = AlertEvent
    fields = ("at", "kind", "actor_label", "note", "data")
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ("at", "id")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Alert)
class AlertAdmin(TenantScopedAdmin):
    list_display = ("summary", "kind", "severity", "status", "paging", "count", "site", "device", "last_seen_at",
                    "tenant")
    list_filter = ("status", "severity", "kind", "is_group", "site", "tenant")
    search_fields = ("summary", "dedup_key", "public_id")
    list_select_related = ("site", "device", "tenant")
    readonly_fields = [field.name for field in Alert._meta.fields]
    inlines = [AlertEventInline]
    actions = ["acknowledge_selected", "resolve_selected", "snooze_selected"]
    date_hierarchy = "last_seen_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # alerts are evidence; retention removes resolved ones after their period

    @admin.display(description="Paging")
    def paging(self, alert):
        parts = []
        if alert.unnotified_reason:
            parts.append(format_html('<strong style="color:#ba2121" title="{}">nobody was notified</strong>',
                                     alert.unnotified_reason))
        if alert.in_maintenance():
            parts.append(format_html('<span title="until {}">in maintenance</span>', alert.maintenance_until))
        if alert.is_snoozed():
            parts.append(format_html('<span title="until {}">snoozed</span>', alert.snoozed_until))
        if alert.is_group:
            parts.append("outage")
        elif alert.group_id:
            parts.append("through its outage")
        return format_html_join(" · ", "{}", ((part,) for part in parts))

    def _operator_of(self, request, alert) -> bool:
        if request.user.is_superuser:
            return True
        return alert.tenant.memberships.filter(user=request.user, role__in=OPERATOR_ROLES).exists()

    def _apply(self, request, queryset, change, verb: str) -> None:
        done = 0
        for alert in queryset.select_related("tenant"):
            if not self._operator_of(request, alert):
                continue
            try:
                change(alert=alert, actor=Actor.for_user(request.user), note="from the admin", user=request.user)
                done += 1
            except ApplicationError as exc:
                self.message_user(request, f"{alert}: {exc.message}", messages.WARNING)
        self.message_user(request, f"{verb} {done} alert(s).", messages.SUCCESS)

    @admin.action(description="Acknowledge selected alerts")
    def acknowledge_selected(self, request, queryset):
        self._apply(request, queryset, services.alert_acknowledge, "Acknowledged")

    @admin.action(description="Resolve selected alerts")
    def resolve_selected(self, request, queryset):
        self._apply(request, queryset, services.alert_resolve, "Resolved")

    @admin.action(description="Snooze selected alerts for 30 minutes")
    def snooze_selected(self, request, queryset):
        until = snooze_minutes(30)
        self._apply(request, queryset,
                    lambda alert, actor, note, user: alert_snooze(alert=alert, actor=actor, until=until, via="admin"),
                    "Snoozed")
