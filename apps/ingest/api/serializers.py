"""The device reports' serializers: the OpenAPI schema of heartbeats and device alerts.

Invariant: they accept and refuse what the fast validators in `apps/ingest/validation/`
(which the views run instead) do, with the same messages; patterns, choices and limits are
imported from there, and tests/ingest/test_report_contract.py holds the two to the same
answers body by body.
"""

from __future__ import annotations

from django.utils import timezone
from django.utils.dateparse import parse_datetime
from rest_framework import serializers

from apps.alerts.models import Severity
from apps.common.fields import BoundedDateTimeField, DetailsField
from apps.common.limits import INT4_MAX, INT8_MAX
from apps.common.validation import FALSE_VALUES, MAX_FUTURE_SKEW, TRUE_VALUES
from apps.ingest.services.device_alerts import DEVICE_ALERT_KINDS
from apps.ingest.validation.device_alert import DEDUP_KEY_PATTERN, summary_problem
from apps.ingest.validation.heartbeat import BSSID_PATTERN, SCANNER_STATUSES


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


class NumberField(serializers.FloatField):
    """A JSON number: DRF's FloatField would take `true` for 1.0, which the schema's
    `type: number` (and the validator) does not."""

    def to_internal_value(self, data):
        if isinstance(data, bool):
            self.fail("invalid")
        return super().to_internal_value(data)


class SpeltBooleanField(serializers.BooleanField):
    """The spellings of true and false the validator takes, as sent (DRF now would also
    take "tRuE", lowercasing first)."""

    TRUE_VALUES = TRUE_VALUES
    FALSE_VALUES = FALSE_VALUES

    @staticmethod
    def _lower_if_str(value):
        return value


class DeviceAlertDetailsField(DetailsField):
    """Details whose `summary`, if any, fits the alert's summary (and so every SMS and Slack message)."""

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        problem = summary_problem(value)
        if problem:
            raise serializers.ValidationError(problem)
        return value


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
    charging = SpeltBooleanField(required=False)


class LinkInput(StrictSerializer):
    wifi_bssid = serializers.RegexField(BSSID_PATTERN, required=False, allow_blank=True)
    rssi = serializers.IntegerField(min_value=-120, max_value=0, required=False)


class HealthInput(StrictSerializer):
    cpu_percent = NumberField(min_value=0, max_value=100, required=False)
    memory_used_mb = NumberField(min_value=0, required=False)
    memory_total_mb = NumberField(min_value=0, required=False)
    disk_used_mb = NumberField(min_value=0, required=False)
    disk_total_mb = NumberField(min_value=0, required=False)
    temperature_c = NumberField(min_value=-50, max_value=150, required=False)


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
    scanner_status = serializers.ChoiceField(choices=list(SCANNER_STATUSES), required=False)
    firmware = serializers.CharField(max_length=64, required=False, allow_blank=True)


class DeviceAlertInput(StrictSerializer):
    kind = serializers.ChoiceField(choices=sorted(DEVICE_ALERT_KINDS))
    severity = serializers.ChoiceField(choices=Severity.choices, required=False)
    dedup_key = serializers.RegexField(DEDUP_KEY_PATTERN, required=False)
    occurred_at = RecentTimestampField()
    details = DeviceAlertDetailsField(required=False, default=dict)
