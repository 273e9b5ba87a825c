from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from django.utils.dateparse import parse_datetime
from rest_framework import serializers

from apps.alerts.models import Severity
from apps.common.fields import BoundedDateTimeField, DetailsField
from apps.common.limits import INT4_MAX, INT8_MAX
from apps.ingest.services import DEVICE_ALERT_KINDS

MAX_FUTURE_SKEW = timedelta(minutes=10)
BSSID = r"^([0-9A-Fa-f]{2}:){5}[0-9A-Fa-f]{2}$"


class RecentTimestampField(BoundedDateTimeField):
    """A device's own clock: must carry a timezone, be after 2000 and not (much) in the future."""

    def to_internal_value(self, value):
        try:
            raw = parse_datetime(value) if isinstance(value, str) else None
        except ValueError:  # well-formed but impossible, e.g. an offset of +99:00
            raise serializers.ValidationError("Is not a valid timestamp.") from None
        if raw is not None and timezone.is_naive(raw):
            # DRF would silently assume the server's zone; a device clock must say its own.
            raise serializers.ValidationError("Must include a timezone (e.g. Z or +00:00).")
        parsed = super().to_internal_value(value)
        if parsed > timezone.now() + MAX_FUTURE_SKEW:
            raise serializers.ValidationError("Is in the future; check the device clock.")
        return parsed


class StrictSerializer(serializers.Serializer):
    """Unknown keys are errors, not silently dropped: a typo in firmware shows up at once."""

    def to_internal_value(self, data):
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError({key: ["Unknown field."] for key in unknown})
        return super().to_internal_value(data)


class BatteryInput(StrictSerializer):
    level = serializers.IntegerField(min_value=0, max_value=100, required=False)
    charging = serializers.BooleanField(required=False)


class LinkInput(StrictSerializer):
    wifi_bssid = serializers.RegexField(BSSID, required=False, allow_blank=True)
    rssi = serializers.IntegerField(min_value=-120, max_value=0, required=False)


class HealthInput(StrictSerializer):
    cpu_percent = serializers.FloatField(min_value=0, max_value=100, required=False)
    memory_used_mb = serializers.FloatField(min_value=0, required=False)
    memory_total_mb = serializers.FloatField(min_value=0, required=False)
    disk_used_mb = serializers.FloatField(min_value=0, required=False)
    disk_total_mb = serializers.FloatField(min_value=0, required=False)
    temperature_c = serializers.FloatField(min_value=-50, max_value=150, required=False)


class OutboxInput(StrictSerializer):
    size = serializers.IntegerField(min_value=0, max_value=INT4_MAX, required=False)
    oldest_age_s = serializers.IntegerField(min_value=0, max_value=INT4_MAX, required=False)
    parked = serializers.IntegerField(min_value=0, max_value=INT4_MAX, required=False)


class HeartbeatInput(StrictSerializer):
    sent_at = RecentTimestampField()
    outbox = OutboxInput(required=False)
    battery = BatteryInput(required=False)
    link = LinkInput(required=False)
    health = HealthInput(required=False)
    uptime_s = serializers.IntegerField(min_value=0, max_value=INT8_MAX, required=False)
    error_count = serializers.IntegerField(min_value=0, max_value=INT4_MAX, required=False)
    scanner_status = serializers.ChoiceField(choices=["ok", "error", "disconnected", "unknown"], required=False)
    firmware = serializers.CharField(max_length=64, required=False, allow_blank=True)


class DeviceAlertInput(StrictSerializer):
    kind = serializers.ChoiceField(choices=sorted(DEVICE_ALERT_KINDS))
    severity = serializers.ChoiceField(choices=Severity.choices, required=False)
    dedup_key = serializers.RegexField(r"^[A-Za-z0-9:._-]{1,100}$", required=False)
    occurred_at = RecentTimestampField()
    details = DetailsField(required=False, default=dict)
