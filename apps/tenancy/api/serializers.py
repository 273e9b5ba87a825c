from __future__ import annotations

import zoneinfo

from rest_framework import serializers

from apps.tenancy.models import Membership, Site, SiteKind, Tenant, Vertical

TIMEZONE_CHOICES = sorted(zoneinfo.available_timezones())


class TenantSerializer(serializers.ModelSerializer):
    id = serializers.CharField(source="public_id", read_only=True)
    vertical = serializers.ChoiceField(choices=Vertical.choices)

    class Meta:
        model = Tenant
        fields = ["id", "name", "slug", "vertical", "is_active", "created_at"]
        read_only_fields = ["created_at"]


class BusinessHoursField(serializers.JSONField):
    """`{"1": [["09:00", "17:00"]], ...}` with ISO weekdays 1 (Mon) .. 7 (Sun)."""

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if not isinstance(value, dict):
            raise serializers.ValidationError("Expected an object keyed by ISO weekday 1..7.")
        for day, spans in value.items():
            if day not in {str(d) for d in range(1, 8)}:
                raise serializers.ValidationError(f"'{day}' is not an ISO weekday (1..7).")
            if not isinstance(spans, list) or not all(_is_span(s) for s in spans):
                raise serializers.ValidationError(f"Day {day}: expected a list of [\"HH:MM\", \"HH:MM\"].")
        return value


def _is_span(span) -> bool:
    if not (isinstance(span, list) and len(span) == 2 and all(isinstance(t, str) for t in span)):
        return False
    return all(_is_clock(t) for t in span) and span[0] < span[1]


def _is_clock(text: str) -> bool:
    if len(text) != 5 or text[2] != ":" or not (text[:2] + text[3:]).isdigit():
        return False
    hours, minutes = int(text[:2]), int(text[3:])
    return (0 <= hours < 24 and 0 <= minutes < 60) or text == "24:00"


class SiteSerializer(serializers.ModelSerializer):
    id = serializers.CharField(source="public_id", read_only=True)
    kind = serializers.ChoiceField(choices=SiteKind.choices)
    timezone = serializers.ChoiceField(choices=TIMEZONE_CHOICES, default="UTC")
    location_id = serializers.RegexField(r"^[A-Za-z0-9._-]{1,40}$", max_length=40)
    business_hours = BusinessHoursField(required=False)
    outage_threshold = serializers.IntegerField(
        min_value=0, max_value=1000, required=False,
        help_text="This many alerts of one kind within the window open one outage alert, paged once (0: off).")
    outage_window_seconds = serializers.IntegerField(min_value=10, max_value=3600, required=False)
    latitude = serializers.FloatField(min_value=-90, max_value=90, allow_null=True, required=False,
                                      help_text="With the longitude (both or neither): daylight for plant rules.")
    longitude = serializers.FloatField(min_value=-180, max_value=180, allow_null=True, required=False)

    class Meta:
        model = Site
        fields = ["id", "name", "location_id", "kind", "timezone", "address", "business_hours", "outage_threshold",
                  "outage_window_seconds", "latitude", "longitude", "created_at", "archived_at"]
        read_only_fields = ["created_at", "archived_at"]


class MembershipSerializer(serializers.ModelSerializer):
    tenant = TenantSerializer(read_only=True)
    sites = serializers.SlugRelatedField(slug_field="public_id", many=True, read_only=True,
                                         help_text="The sites covered when not all_sites.")

    class Meta:
        model = Membership
        fields = ["tenant", "role", "all_sites", "sites"]


class MeSerializer(serializers.Serializer):
    username = serializers.CharField()
    email = serializers.EmailField()
    is_superuser = serializers.BooleanField()
    memberships = MembershipSerializer(many=True)
