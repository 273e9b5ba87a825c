"""The admin of channels, sites' quiet hours and deliveries, for tenant owners and admins.

Every write goes through the same services as the API (`channel_create`, `channel_update`,
`channel_delete`, `quiet_hours_save`), so what the admin saves is validated and audited
exactly as an API call would be. `ServiceDeleteMixin` is shared with the policies' admin.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages

from apps.audit.services import Actor
from apps.common.errors import ApplicationError
from apps.notifications import channels, delivery
from apps.notifications.models import Channel, Notification, NotificationStatus, QuietHours
from apps.tenancy.admin_base import ArchivingDeleteMixin, ReadOnlyTenantScopedAdmin, TenantScopedAdmin
from apps.tenancy.admin_forms import service_error_place


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
                service_error_place(self, exc)
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
