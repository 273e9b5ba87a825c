from django import forms
from django.contrib import admin, messages

from apps.notifications import delivery
from apps.notifications.models import (
    Channel,
    EscalationPolicy,
    EscalationStep,
    Notification,
    NotificationStatus,
    QuietHours,
)
from apps.notifications.services import normalise_target
from apps.tenancy.admin_base import ReadOnlyTenantScopedAdmin, TenantScopedAdmin


class ChannelForm(forms.ModelForm):
    secret = forms.CharField(required=False, widget=forms.PasswordInput(render_value=False),
                             help_text="Leave empty to keep the current secret. It is stored encrypted.")

    class Meta:
        model = Channel
        fields = ("tenant", "name", "kind", "target", "enabled")

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("kind") and cleaned.get("target"):
            from apps.common.errors import ApplicationError

            try:
                cleaned["target"] = normalise_target(cleaned["kind"], cleaned["target"])
            except ApplicationError as exc:
                self.add_error("target", exc.message)
        return cleaned


@admin.register(Channel)
class ChannelAdmin(TenantScopedAdmin):
    form = ChannelForm
    list_display = ("name", "kind", "target", "enabled", "tenant")
    list_filter = ("kind", "enabled", "tenant")
    search_fields = ("name", "public_id")

    def save_model(self, request, obj, form, change):
        if form.cleaned_data.get("secret"):
            obj.secret = form.cleaned_data["secret"]
        super().save_model(request, obj, form, change)


class StepInline(admin.TabularInline):
    model = EscalationStep
    fields = ("order", "delay_minutes", "channels")
    extra = 1

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        field = super().formfield_for_manytomany(db_field, request, **kwargs)
        if not request.user.is_superuser and field is not None:
            from apps.tenancy.context import tenant_ids_for_user

            field.queryset = field.queryset.filter(tenant__in=tenant_ids_for_user(request.user))
        return field


@admin.register(EscalationPolicy)
class EscalationPolicyAdmin(TenantScopedAdmin):
    list_display = ("name", "priority", "kinds", "severities", "repeat_times", "enabled", "tenant")
    list_filter = ("enabled", "tenant")
    inlines = [StepInline]

    def save_formset(self, request, form, formset, change):
        for step in formset.save(commit=False):
            step.tenant_id = form.instance.tenant_id
            step.save()
        formset.save_m2m()
        for deleted in formset.deleted_objects:
            deleted.delete()


@admin.register(QuietHours)
class QuietHoursAdmin(TenantScopedAdmin):
    list_display = ("site", "start", "end", "enabled", "tenant")

    def save_model(self, request, obj, form, change):
        obj.tenant_id = obj.site.tenant_id
        super().save_model(request, obj, form, change)


@admin.register(Notification)
class NotificationAdmin(ReadOnlyTenantScopedAdmin):
    list_display = ("created_at", "alert", "channel", "step", "purpose", "status", "attempts", "error_code",
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
