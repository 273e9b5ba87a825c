"""Admin for gateways and dead letters: scoped by tenant, every write through the services
(apps.iot.provisioning, apps.iot.deprovisioning).

"Add gateway" is the provisioning page (apps.iot.admin_provisioning), for tenant owners and
admins; a server-made key is downloaded once from the gateway's page.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.urls import path
from django.utils.html import format_html

from apps.audit.services import Actor
from apps.iot import deprovisioning
from apps.iot.admin_provisioning import GatewayProvisioningMixin, key_link
from apps.iot.models import DeadLetter, Gateway
from apps.tenancy.admin_base import TenantScopedAdmin


@admin.register(Gateway)
class GatewayAdmin(GatewayProvisioningMixin, TenantScopedAdmin):
    list_display = ["identity", "site", "status", "cert_serial", "activated_at", "revoked_at"]
    list_filter = ["status"]
    search_fields = ["identity", "device__hardware_id", "site__name"]
    readonly_fields = [*(field.name for field in Gateway._meta.fields if field.name != "key_encrypted"),
                       "private_key"]
    exclude = ["key_encrypted"]
    actions = ["revoke_selected"]

    def get_urls(self):
        own = [path("<str:object_id>/key/", self.admin_site.admin_view(self.key_view), name="iot_gateway_key")]
        return own + super().get_urls()

    def add_view(self, request, form_url="", extra_context=None):
        return self.provision_view(request)

    @admin.display(description="Private key")
    def private_key(self, obj):
        if obj is None or not obj.key_encrypted:
            return "made on the gateway (CSR), or already downloaded"
        return format_html('<a href="{}">download once</a>', key_link(obj))

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # revoke instead: deprovisioning runs the steps in order

    @admin.action(description="Revoke: cut off the broker, certificate onto the CRL, device revoked")
    def revoke_selected(self, request, queryset):
        managed = set(self._managed_tenant_ids(request))
        count = 0
        for gateway in queryset:
            if not request.user.is_superuser and gateway.tenant_id not in managed:
                continue
            deprovisioning.gateway_deprovision(gateway=gateway, actor=Actor.for_user(request.user),
                                         reason="revoked in the admin", revoked_by=request.user)
            count += 1
        self.message_user(request, f"Revoked {count} gateway(s).", messages.SUCCESS)


@admin.register(DeadLetter)
class DeadLetterAdmin(TenantScopedAdmin):
    list_display = ["received_at", "topic", "reason"]
    search_fields = ["topic", "reason"]
    readonly_fields = ["tenant", "topic", "payload_excerpt", "reason", "received_at"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
