"""Admin for machine identities. Secrets are shown once, on the page after creation."""

from __future__ import annotations

from datetime import timedelta

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from apps.audit.services import Actor
from apps.common.errors import ApplicationError
from apps.devices import api_keys, commands, qr, room_import, services, setup_tokens
from apps.devices.admin_forms import DeviceForm, RoomImportForm
from apps.devices.locations import label_problem
from apps.devices.models import ApiKey, ApiKeyScope, ApiKeyTier, CommandName, Device, DeviceCommand, SetupToken
from apps.tenancy.admin_base import ArchivingDeleteMixin, TenantScopedAdmin
from apps.tenancy.models import Site, Tenant


@admin.register(Device)
class DeviceAdmin(ArchivingDeleteMixin, TenantScopedAdmin):
    form = DeviceForm
    list_display = ("__str__", "location_label", "site", "kind", "status", "last_seen_at", "battery_level",
                    "backlog", "firmware", "tenant", "history")
    list_filter = ("status", "kind", "site", "tenant")
    search_fields = ("name", "location_label", "hardware_id", "public_id", "model")
    change_list_template = "admin/devices/device/change_list.html"
    list_select_related = ("site", "tenant")
    readonly_fields = ("history", "public_id", "tenant", "hardware_id", "kind", "model", "status", "public_key",
                       "token_version", "last_seen_at", "battery_level", "battery_charging", "link_rssi",
                       "link_bssid", "firmware", "outbox_size", "outbox_oldest_age_s", "outbox_parked",
                       "shadow_version", "reported_state", "shadow_metadata", "shadow_pending_since",
                       "shadow_drift_at", "enrolled_at", "revoked_at", "revoked_by", "revoke_reason", "readmit_until",
                       "created_at")
    fields = ("name", "location_label", "site", "allowed_bssids", "desired_state", *readonly_fields)
    actions = ["revoke_selected", "readmit_selected", "send_flush", "send_reload_config", "send_reboot",
               "send_rotate_key"]

    @admin.display(description="Backlog")
    def backlog(self, device):
        """The agent's outbox from its newest heartbeat: waiting items, the oldest's age, parked."""
        if device.outbox_size is None:
            return "—"
        age = device.outbox_oldest_age_s or 0
        return f"{device.outbox_size} waiting, oldest {age // 60} min, {device.outbox_parked or 0} parked"

    def has_add_permission(self, request):
        return False  # devices enrol themselves with a setup token

    @admin.display(description="History")
    def history(self, obj):
        """The device page: charts of its last day and week (battery, signal, temperature, power)."""
        if obj is None or obj.pk is None:
            return "–"
        return format_html('<a href="{}">charts</a>', reverse("device-page", args=[obj.public_id]))

    def save_model(self, request, obj, form, change):
        changes = {field: form.cleaned_data[field] for field in ("name", "location_label", "site")
                   if field in form.changed_data}
        if {"desired_state", "allowed_bssids"} & set(form.changed_data):
            # The service sends both through the shadow: versioned, stamped per key, delivered.
            changes["desired_state"] = form.cleaned_data["desired_state"]
            changes["allowed_bssids"] = form.cleaned_data["allowed_bssids"]
        services.device_update(device=Device.objects.get(pk=obj.pk), actor=Actor.for_user(request.user), **changes)

    def _send(self, request, queryset, name: str) -> None:
        sent = 0
        for device in queryset.filter(status="active"):
            if self._can_manage(request, device):
                commands.command_send(tenant=device.tenant, actor=Actor.for_user(request.user), name=name,
                                      device=device)
                sent += 1
        self.message_user(request, f"Queued '{name}' for {sent} device(s); see Device commands for the answers.",
                          messages.SUCCESS)

    @admin.action(description="Command: force a batch flush")
    def send_flush(self, request, queryset):
        self._send(request, queryset, CommandName.FLUSH)

    @admin.action(description="Command: reload configuration")
    def send_reload_config(self, request, queryset):
        self._send(request, queryset, CommandName.RELOAD_CONFIG)

    @admin.action(description="Command: reboot (asks the host's supervisor)")
    def send_reboot(self, request, queryset):
        self._send(request, queryset, CommandName.REBOOT)

    @admin.action(description="Command: rotate the device key")
    def send_rotate_key(self, request, queryset):
        self._send(request, queryset, CommandName.ROTATE_KEY)

    def changelist_view(self, request, extra_context=None):
        return super().changelist_view(request, {"can_import": self.has_change_permission(request),
                                                 **(extra_context or {})})

    def get_urls(self):
        return [path("import/", self.admin_site.admin_view(self.import_view), name="devices_device_import"),
                *super().get_urls()]

    def import_view(self, request):
        """*Devices → Import rooms from CSV*: name many devices and their access points at once."""
        if not self.has_change_permission(request):
            return HttpResponseRedirect(reverse("admin:devices_device_changelist"))
        form = RoomImportForm(request.POST or None, request.FILES or None)
        form.fields["site"].queryset = self._limit_choices(request, Site, Site.objects.all())
        result = None
        if request.method == "POST" and form.is_valid():
            site = form.cleaned_data["site"]
            tenant = site.tenant if site else self._single_managed_tenant(request)
            if tenant is None:
                form.add_error("site", "You manage several tenants: choose a site.")
            else:
                try:
                    result = room_import.device_labels_import(tenant=tenant, site=site, csv_text=form.cleaned_data[
                        "file"], actor=Actor.for_user(request.user))
                except ApplicationError as exc:
                    form.add_error("file", exc.message)
        context = {**self.admin_site.each_context(request), "opts": self.model._meta, "form": form,
                   "result": result, "title": "Import rooms from CSV"}
        return TemplateResponse(request, "admin/devices/device/import.html", context)

    def _single_managed_tenant(self, request):
        managed = Tenant.objects.filter(pk__in=self._managed_tenant_ids(request))
        return managed.first() if managed.count() == 1 else None

    def delete_model(self, request, obj):
        services.device_delete(device=obj, actor=Actor.for_user(request.user))

    def delete_queryset(self, request, queryset):
        for device in queryset:
            outcome = services.device_delete(device=device, actor=Actor.for_user(request.user))
            if outcome == "archived":
                self.message_user(request, f"{device}: archived (it has history) and revoked.", messages.WARNING)

    @admin.action(description="Revoke selected devices (their tokens stop working at once)")
    def revoke_selected(self, request, queryset):
        revoked = 0
        for device in queryset.exclude(status="revoked"):
            if self._can_manage(request, device):
                services.device_revoke(device=device, actor=Actor.for_user(request.user),
                                       reason="revoked in admin", revoked_by=request.user)
                revoked += 1
        self.message_user(request, f"Revoked {revoked} device(s).", messages.SUCCESS)

    @admin.action(description="Re-admit selected devices (their next enrolment may re-key them, even if revoked)")
    def readmit_selected(self, request, queryset):
        readmitted = 0
        for device in queryset:
            if self._can_manage(request, device):
                services.device_readmit(device=device, actor=Actor.for_user(request.user),
                                        reason="re-admitted in admin")
                readmitted += 1
        self.message_user(request, f"Re-admitted {readmitted} device(s) for "
                                   f"{settings.TOCSIN_READMIT_TTL_HOURS} h.", messages.SUCCESS)


class SecretShownOnceAdmin(TenantScopedAdmin):
    """Creation goes through a service and ends on a page that shows the secret once.

    Subclasses name their `creation_form` and define `issue(request, cleaned) -> dict`,
    which creates through the service and returns the page's context (title, intro, secret).
    """

    creation_form: type[forms.Form]

    def has_change_permission(self, request, obj=None):
        return False if obj is not None else super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False  # revoke instead: the record says who enrolled what, and when

    def add_view(self, request, form_url="", extra_context=None):
        if not self.has_add_permission(request):
            return super().add_view(request, form_url, extra_context)
        form = self.creation_form(request.POST or None)
        for field in form.fields.values():
            if hasattr(field, "queryset"):
                field.queryset = self._limit_choices(request, field.queryset.model, field.queryset)
        if request.method == "POST" and form.is_valid():
            opts = self.model._meta
            context = {**self.admin_site.each_context(request), "opts": opts,
                       "back_url": reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"),
                       **self.issue(request, form.cleaned_data)}
            response = TemplateResponse(request, "admin/devices/secret_created.html", context)
            response["Cache-Control"] = "no-store"
            return response
        context = {**self.admin_site.each_context(request), "opts": self.model._meta, "form": form,
                   "title": f"Add {self.model._meta.verbose_name}", **(extra_context or {})}
        return TemplateResponse(request, "admin/devices/secret_form.html", context)


class SetupTokenForm(forms.Form):
    site = forms.ModelChoiceField(queryset=Site.objects.all())
    label = forms.CharField(max_length=100, required=False)
    location_label = forms.CharField(max_length=60, required=False, label="Device's place",
                                     help_text="Optional: Room 305, Till 2... Printed in the QR code; names the "
                                               "device this token enrols.")
    max_uses = forms.IntegerField(min_value=1, max_value=1000, initial=1)
    ttl_hours = forms.FloatField(min_value=0.05, max_value=720, initial=24, label="Valid for (hours)")

    def clean_location_label(self):
        label = " ".join(self.cleaned_data["location_label"].split())
        if problem := label_problem(label):
            raise forms.ValidationError(problem)
        return label


@admin.register(SetupToken)
class SetupTokenAdmin(SecretShownOnceAdmin):
    creation_form = SetupTokenForm
    list_display = ("__str__", "site", "label", "uses", "max_uses", "expires_at", "state", "tenant")
    list_filter = ("site", "tenant")
    list_select_related = ("site", "tenant")
    actions = ["revoke_selected"]

    def issue(self, request, cleaned: dict) -> dict:
        issued = setup_tokens.setup_token_create(
            site=cleaned["site"], actor=Actor.for_user(request.user), created_by=request.user,
            max_uses=cleaned["max_uses"], label=cleaned["label"], location_label=cleaned["location_label"],
            ttl=timedelta(hours=cleaned["ttl_hours"]),
        )
        site = issued.record.site
        return {"title": f"Setup token for {site.name} ({site.location_id})", "secret": issued.token,
                "qr_png": qr.qr_png_data_uri(issued.qr_payload),
                "intro": f"Scan the code with the device, or copy the token. It expires "
                         f"{issued.record.expires_at:%Y-%m-%d %H:%M} UTC and can enrol "
                         f"{issued.record.max_uses} device(s)."}

    @admin.action(description="Revoke selected setup tokens")
    def revoke_selected(self, request, queryset):
        for token in queryset.filter(revoked_at__isnull=True):
            if self._can_manage(request, token):
                setup_tokens.setup_token_revoke(setup_token=token, actor=Actor.for_user(request.user))
        self.message_user(request, "Revoked.", messages.SUCCESS)


class ApiKeyForm(forms.Form):
    tenant = forms.ModelChoiceField(queryset=Tenant.objects.all())
    name = forms.CharField(max_length=100)
    scopes = forms.MultipleChoiceField(choices=ApiKeyScope.choices, widget=forms.CheckboxSelectMultiple)
    tier = forms.TypedChoiceField(choices=ApiKeyTier.choices, coerce=int, initial=ApiKeyTier.STANDARD)
    expires_at = forms.DateTimeField(required=False, help_text="Optional, UTC.")


@admin.register(ApiKey)
class ApiKeyAdmin(SecretShownOnceAdmin):
    creation_form = ApiKeyForm
    list_display = ("name", "prefix", "scopes", "tier", "last_used_at", "expires_at", "revoked_at", "tenant")
    list_filter = ("tenant",)
    search_fields = ("name", "prefix")
    actions = ["revoke_selected"]

    def issue(self, request, cleaned: dict) -> dict:
        issued = api_keys.api_key_create(
            tenant=cleaned["tenant"], name=cleaned["name"], scopes=cleaned["scopes"], tier=cleaned["tier"],
            expires_at=cleaned["expires_at"], actor=Actor.for_user(request.user), created_by=request.user,
        )
        return {"title": f"API key “{issued.record.name}”", "secret": issued.key,
                "intro": "Copy the key into the integration now; Tocsin keeps only its hash."}

    @admin.action(description="Revoke selected API keys")
    def revoke_selected(self, request, queryset):
        for key in queryset.filter(revoked_at__isnull=True):
            if self._can_manage(request, key):
                api_keys.api_key_revoke(api_key=key, actor=Actor.for_user(request.user))
        self.message_user(request, "Revoked.", messages.SUCCESS)


@admin.register(DeviceCommand)
class DeviceCommandAdmin(TenantScopedAdmin):
    """What was asked of which device, and what it answered (sent from the device list's actions)."""

    list_display = ("public_id", "device", "name", "status", "created_at", "expires_at", "finished_at", "tenant")
    list_filter = ("status", "name", "tenant")
    search_fields = ("public_id", "group", "device__name", "device__public_id")
    list_select_related = ("device", "tenant")
    readonly_fields = ("public_id", "tenant", "device", "name", "params", "status", "group", "result",
                       "created_by_label", "created_at", "expires_at", "delivered_at", "delivered_via", "finished_at")
    fields = readonly_fields

    def has_add_permission(self, request):
        return False  # sent through the device list's actions (a service), not typed in

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
