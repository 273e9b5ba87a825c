from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.utils import timezone
from django.utils.dateparse import parse_datetime
from drf_spectacular.utils import OpenApiTypes, extend_schema_field
from rest_framework import serializers

from apps.reports.selectors import SCAN_BUCKETS

MAX_SPAN = timedelta(days=92)
DEFAULT_SPAN = timedelta(days=7)
SITE_ID = r"^site_[a-z0-9]{10,32}$"
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)


# --- query parameters ----------------------------------------------------------------------------

class InstantField(serializers.DateTimeField):
    """A point in time for a report: it must say its offset, since sites live in different
    zones and the server's would be a guess, and it must be a plausible date, so that
    converting it to any site's zone stays within what a datetime can hold."""

    default_error_messages = {
        "naive": "Must include a timezone, e.g. Z or +01:00 (write + as %2B in a URL).",
        "out_of_range": f"Must be between {EARLIEST:%Y-%m-%d} and {LATEST:%Y-%m-%d}.",
    }

    def to_internal_value(self, value):
        try:
            parsed = parse_datetime(value) if isinstance(value, str) else None
        except ValueError:  # well formed but impossible, e.g. an offset of +99:00
            parsed = None
        if parsed is not None and timezone.is_naive(parsed):
            self.fail("naive")
        instant = super().to_internal_value(value)
        if not EARLIEST <= instant < LATEST:
            self.fail("out_of_range")
        return instant


class SiteQuery(serializers.Serializer):
    site = serializers.RegexField(SITE_ID, required=False, help_text="A site's public id; all sites if absent.")


class ScanAnalyticsQuery(SiteQuery):
    since = InstantField(required=False, help_text="Start (inclusive); default: 7 days before `until`.")
    until = InstantField(required=False, help_text="End (exclusive); default: now.")
    bucket = serializers.ChoiceField(choices=SCAN_BUCKETS, default="day")

    def validate(self, attrs):
        until = attrs.get("until") or timezone.now()
        since = attrs.get("since") or until - DEFAULT_SPAN
        if since >= until:
            raise serializers.ValidationError({"until": ["Must be after since."]})
        if until - since > MAX_SPAN:
            raise serializers.ValidationError({"until": [f"The period may span at most {MAX_SPAN.days} days."]})
        return {**attrs, "since": since, "until": until}


# --- output --------------------------------------------------------------------------------------

@extend_schema_field(OpenApiTypes.DATETIME)
class LocalTimeField(serializers.Field):
    """ISO 8601 with the site's own offset; DRF's DateTimeField would shift it to the server's zone."""

    def to_representation(self, value) -> str:
        return value.isoformat()


class _SiteOutput(serializers.Serializer):
    site = serializers.CharField(source="site.public_id")
    name = serializers.CharField(source="site.name")
    location_id = serializers.CharField(source="site.location_id")
    timezone = serializers.CharField(source="site.timezone")


class ScanCountsOutput(serializers.Serializer):
    scans = serializers.IntegerField()
    underage = serializers.IntegerField()
    invalid = serializers.IntegerField()
    expired = serializers.IntegerField()


class ScanTotalsOutput(ScanCountsOutput):
    underage_rate = serializers.FloatField(allow_null=True)
    invalid_rate = serializers.FloatField(allow_null=True)
    expired_rate = serializers.FloatField(allow_null=True)


class ScanBucketOutput(serializers.Serializer):
    start = LocalTimeField()
    scans = serializers.IntegerField(source="counts.scans")
    underage = serializers.IntegerField(source="counts.underage")
    invalid = serializers.IntegerField(source="counts.invalid")
    expired = serializers.IntegerField(source="counts.expired")


class SiteScanOutput(_SiteOutput):
    buckets = ScanBucketOutput(many=True)
    age_bands = serializers.DictField(child=serializers.IntegerField())
    totals = ScanTotalsOutput()


class ScanAnalyticsOutput(serializers.Serializer):
    since = serializers.DateTimeField()
    until = serializers.DateTimeField()
    bucket = serializers.CharField()
    sites = SiteScanOutput(many=True)


class BatteryOutput(serializers.Serializer):
    avg = serializers.FloatField(source="battery_avg", allow_null=True)
    min = serializers.IntegerField(source="battery_min", allow_null=True)
    low = serializers.IntegerField(source="battery_low")


class HealthOutput(serializers.Serializer):
    avg_cpu_percent = serializers.FloatField(allow_null=True)
    max_temperature_c = serializers.FloatField(allow_null=True)
    avg_memory_used_pct = serializers.FloatField(allow_null=True)


class DeviceCountsOutput(serializers.Serializer):
    total = serializers.IntegerField()
    online = serializers.IntegerField()
    offline = serializers.IntegerField()
    never_seen = serializers.IntegerField()
    revoked = serializers.IntegerField()


class SiteDevicesOutput(_SiteOutput):
    devices = DeviceCountsOutput(source="*")
    battery = BatteryOutput(source="*")
    health = HealthOutput(source="*")


class DeviceAnalyticsOutput(serializers.Serializer):
    at = serializers.DateTimeField()
    sites = SiteDevicesOutput(many=True)


# --- scans and exports ---------------------------------------------------------------------------

DEVICE_ID = r"^dev_[a-z0-9]{10,32}$"


class ScanListQuery(SiteQuery):
    device = serializers.RegexField(DEVICE_ID, required=False, help_text="A device's public id.")
    since = InstantField(required=False, help_text="Scanned at or after (inclusive).")
    until = InstantField(required=False, help_text="Scanned before (exclusive).")
    underage = serializers.ChoiceField(choices=["true", "false"], required=False)
    valid = serializers.ChoiceField(choices=["true", "false"], required=False)

    def validate(self, attrs):
        for flag in ("underage", "valid"):
            if flag in attrs:
                attrs[flag] = attrs[flag] == "true"
        if attrs.get("since") and attrs.get("until") and attrs["since"] >= attrs["until"]:
            raise serializers.ValidationError({"until": ["Must be after since."]})
        return attrs


class ScanOutput(serializers.Serializer):
    """A scan as stored: no person, only what the policy needs, and a prefix of the keyed hash."""

    scan_id = serializers.UUIDField()
    site = serializers.CharField(source="site.public_id")
    device = serializers.CharField(source="device.public_id")
    scanned_at = serializers.DateTimeField()
    birth_year = serializers.IntegerField()
    age = serializers.IntegerField()
    age_band = serializers.CharField()
    is_underage = serializers.BooleanField()
    is_valid = serializers.BooleanField()
    document_expired = serializers.BooleanField()
    jurisdiction = serializers.CharField()
    subject_hash_prefix = serializers.SerializerMethodField()

    def get_subject_hash_prefix(self, scan) -> str:
        return (scan.subject_hash or "")[:12]
