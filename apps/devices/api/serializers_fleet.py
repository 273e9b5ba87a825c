"""Shapes of the shadow and command APIs (staff and device sides)."""

from __future__ import annotations

from rest_framework import serializers

from apps.devices.models import CommandName, Device, DeviceCommand, DeviceKind
from apps.tenancy.api.fields import TenantScopedRelatedField
from apps.tenancy.models import Site


class ShadowOutput(serializers.Serializer):
    device = serializers.CharField()
    version = serializers.IntegerField(help_text="Rises on every change of either document; send it as If-Match.")
    desired = serializers.DictField()
    reported = serializers.DictField()
    delta = serializers.DictField(help_text="What desired says and reported does not.")
    metadata = serializers.DictField(help_text="{desired: {key: updated_at}, reported: {key: updated_at}}.")
    pending_since = serializers.DateTimeField(allow_null=True)
    drifting = serializers.BooleanField(help_text="A drift alert is open for this device.")


class DesiredPatchInput(serializers.Serializer):
    desired = serializers.JSONField(help_text="A JSON merge patch: keys set, `null` removes a key. ≤ 8 KiB.")


class ReportedPatchInput(serializers.Serializer):
    reported = serializers.JSONField(help_text="A JSON merge patch of what the device now has. ≤ 8 KiB.")


class CommandSerializer(serializers.ModelSerializer):
    id = serializers.CharField(source="public_id", read_only=True)
    device = serializers.CharField(source="device.public_id", read_only=True)
    device_name = serializers.CharField(source="device.__str__", read_only=True)

    class Meta:
        model = DeviceCommand
        fields = ["id", "device", "device_name", "name", "params", "status", "group", "result", "created_by_label",
                  "created_at", "expires_at", "delivered_at", "delivered_via", "finished_at"]
        read_only_fields = fields


class CommandCreateInput(serializers.Serializer):
    name = serializers.ChoiceField(choices=CommandName.choices)
    params = serializers.DictField(required=False, default=dict)
    device = TenantScopedRelatedField(queryset=Device.objects.all(), required=False,
                                      help_text="One device; or name a group with site and/or kind.")
    site = TenantScopedRelatedField(queryset=Site.objects.all(), required=False)
    kind = serializers.ChoiceField(choices=DeviceKind.choices, required=False)
    ttl_seconds = serializers.IntegerField(min_value=10, max_value=7 * 24 * 3600, required=False)


class DeviceCommandOutput(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()
    params = serializers.DictField()
    expires_at = serializers.DateTimeField()


class CommandAckInput(serializers.Serializer):
    status = serializers.ChoiceField(choices=["ok", "failed"])
    result = serializers.JSONField(required=False, default=dict)


class KeyRotateInput(serializers.Serializer):
    public_key = serializers.CharField(max_length=64)
    signature = serializers.CharField(max_length=128)
