from __future__ import annotations

from datetime import timedelta

from rest_framework import serializers

from apps.devices import keys
from apps.devices.locations import LOCATION_LABEL_MAX, bssid_problems, label_problem
from apps.devices.models import ApiKey, ApiKeyScope, ApiKeyTier, Device, DeviceKind, SetupToken
from apps.tenancy.api.fields import TenantScopedRelatedField
from apps.tenancy.models import Site

HARDWARE_ID = r"^[A-Za-z0-9:._-]{3,128}$"
OPAQUE_ID = r"^[a-z]{2,5}_[a-z0-9]{10,32}$"
BASE64 = r"^[A-Za-z0-9+/]+={0,2}$"


# --- device-facing -------------------------------------------------------------------------

class LocationLabelField(serializers.CharField):
    """Room 305, Till 2, Inverter 07: at most 60 printable characters, no personal data."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", LOCATION_LABEL_MAX)
        kwargs.setdefault("allow_blank", True)
        kwargs.setdefault("help_text", "Where the device is inside its site (Room 305, Till 2, Inverter 07); "
                                       "shown on alerts, pages and the board.")
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        value = " ".join(super().to_internal_value(data).split())
        problem = label_problem(value)
        if problem:
            raise serializers.ValidationError(problem)
        return value


class BssidListField(serializers.ListField):
    def __init__(self, **kwargs):
        kwargs.setdefault("child", serializers.CharField(max_length=17))
        kwargs.setdefault("max_length", 32)
        kwargs.setdefault("help_text", "The Wi-Fi access points (BSSIDs, aa:bb:cc:dd:ee:ff) the device may use; "
                                       "another one raises a breach alert.")
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        values = super().to_internal_value(data)
        problems = bssid_problems(values)
        if problems:
            raise serializers.ValidationError(problems)
        return list(dict.fromkeys(value.lower() for value in values))


class EnrollStartInput(serializers.Serializer):
    setup_token = serializers.CharField(max_length=100)
    location_id = serializers.CharField(max_length=40)
    hardware_id = serializers.RegexField(HARDWARE_ID)
    model = serializers.CharField(max_length=100, allow_blank=True, default="")
    kind = serializers.ChoiceField(choices=DeviceKind.choices)
    public_key = serializers.RegexField(BASE64, max_length=64)
    location_label = LocationLabelField(required=False, default="",
                                        help_text="Optional: where the device is (Room 305). Else the setup "
                                                  "token's, if it names one.")

    def validate_public_key(self, value: str) -> str:
        try:
            keys.load_public_key(value)
        except keys.InvalidKey as exc:
            raise serializers.ValidationError(f"Not a valid Ed25519 public key ({exc}).") from exc
        return value


class ChallengeOutput(serializers.Serializer):
    enrollment_id = serializers.CharField(source="id")
    challenge = serializers.CharField()
    expires_at = serializers.DateTimeField()


class EnrollCompleteInput(serializers.Serializer):
    enrollment_id = serializers.RegexField(OPAQUE_ID)
    signature = serializers.RegexField(BASE64, max_length=100)
    current_key_signature = serializers.RegexField(
        BASE64, max_length=100, required=False,
        help_text="Re-enrolling a known device with a new key: the handover message signed with its current key.")


class TokenOutput(serializers.Serializer):
    device_id = serializers.CharField(source="device.public_id")
    access = serializers.CharField()
    access_expires_at = serializers.DateTimeField(source="expires_at")


class RenewalChallengeInput(serializers.Serializer):
    device_id = serializers.RegexField(OPAQUE_ID)


class RenewalChallengeOutput(serializers.Serializer):
    challenge_id = serializers.CharField(source="id")
    challenge = serializers.CharField()
    expires_at = serializers.DateTimeField()


class RenewalInput(serializers.Serializer):
    device_id = serializers.RegexField(OPAQUE_ID)
    challenge_id = serializers.RegexField(OPAQUE_ID)
    signature = serializers.RegexField(BASE64, max_length=100)


class DeviceMeOutput(serializers.Serializer):
    device_id = serializers.CharField(source="public_id")
    name = serializers.CharField()
    location_label = serializers.CharField()
    kind = serializers.CharField()
    model = serializers.CharField()
    status = serializers.CharField()
    hardware_id = serializers.CharField()
    site = serializers.SerializerMethodField()
    tenant = serializers.SerializerMethodField()
    config = serializers.SerializerMethodField()

    def get_site(self, device: Device) -> dict:
        site = device.site
        return {"id": site.public_id, "location_id": site.location_id, "name": site.name, "kind": site.kind,
                "timezone": site.timezone}

    def get_tenant(self, device: Device) -> dict:
        return {"id": device.tenant.public_id, "name": device.tenant.name}

    def get_config(self, device: Device) -> dict:
        return self.context["config"]


# --- staff-facing --------------------------------------------------------------------------

class DeviceSerializer(serializers.ModelSerializer):
    id = serializers.CharField(source="public_id", read_only=True)
    site = TenantScopedRelatedField(queryset=Site.objects.all())
    site_name = serializers.CharField(source="site.name", read_only=True)
    location_label = LocationLabelField(required=False)
    allowed_bssids = BssidListField(source="desired_state.allowed_bssids", required=False)

    class Meta:
        model = Device
        fields = ["id", "name", "location_label", "site", "site_name", "allowed_bssids", "hardware_id", "model",
                  "kind", "status", "token_version", "last_seen_at", "battery_level", "battery_charging", "link_rssi",
                  "link_bssid", "firmware", "enrolled_at", "revoked_at", "revoke_reason", "readmit_until", "created_at",
                  "outbox_size", "outbox_oldest_age_s", "outbox_parked", "shadow_version", "shadow_pending_since"]
        read_only_fields = [f for f in fields if f not in ("name", "site", "location_label", "allowed_bssids")]

    def to_representation(self, instance):
        data = super().to_representation(instance)
        data["allowed_bssids"] = list(instance.desired_state.get("allowed_bssids", []))
        return data


class RevokeInput(serializers.Serializer):
    reason = serializers.CharField(max_length=200, allow_blank=True, default="")


class ReadmitInput(serializers.Serializer):
    reason = serializers.CharField(max_length=200, help_text="Why (kept in the audit log): replaced, re-imaged...")


class SetupTokenSerializer(serializers.ModelSerializer):
    id = serializers.CharField(source="public_id", read_only=True)
    site = TenantScopedRelatedField(queryset=Site.objects.all())
    location_id = serializers.CharField(source="site.location_id", read_only=True)
    state = serializers.CharField(read_only=True)

    class Meta:
        model = SetupToken
        fields = ["id", "site", "location_id", "label", "location_label", "hint", "max_uses", "uses", "expires_at",
                  "revoked_at", "state", "created_at"]
        read_only_fields = ["hint", "uses", "expires_at", "revoked_at", "created_at"]


class SetupTokenCreateInput(serializers.Serializer):
    site = TenantScopedRelatedField(queryset=Site.objects.all())
    label = serializers.CharField(max_length=100, allow_blank=True, default="")
    location_label = LocationLabelField(required=False, default="",
                                        help_text="Names the device this token enrols (Room 305); in the QR code.")
    max_uses = serializers.IntegerField(min_value=1, max_value=1000, default=1)
    ttl_hours = serializers.FloatField(min_value=0.05, max_value=720, default=24)

    def validate(self, attrs):
        attrs["ttl"] = timedelta(hours=attrs.pop("ttl_hours"))
        return attrs


class ApiKeySerializer(serializers.ModelSerializer):
    id = serializers.CharField(source="public_id", read_only=True)

    class Meta:
        model = ApiKey
        fields = ["id", "name", "prefix", "scopes", "tier", "expires_at", "revoked_at", "last_used_at",
                  "created_at"]
        read_only_fields = fields


class ApiKeyCreateInput(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    scopes = serializers.ListField(child=serializers.ChoiceField(choices=ApiKeyScope.choices), min_length=1,
                                   max_length=len(ApiKeyScope.values))
    tier = serializers.ChoiceField(choices=ApiKeyTier.choices, default=ApiKeyTier.STANDARD)
    expires_at = serializers.DateTimeField(required=False, allow_null=True)


class RoomImportInput(serializers.Serializer):
    csv = serializers.CharField(max_length=512 * 1024, trim_whitespace=False,
                                help_text="`label,hardware_id,allowed_bssids` per line (BSSIDs separated by spaces "
                                          "or ';'; an empty cell keeps the device's list); a header line is skipped.")
    site = TenantScopedRelatedField(queryset=Site.objects.all(), required=False, allow_null=True,
                                    help_text="Only devices of this site.")


class RoomImportLineError(serializers.Serializer):
    line = serializers.IntegerField()
    hardware_id = serializers.CharField()
    errors = serializers.ListField(child=serializers.CharField())


class RoomImportOutput(serializers.Serializer):
    updated = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    failed = serializers.IntegerField()
    errors = RoomImportLineError(many=True)
