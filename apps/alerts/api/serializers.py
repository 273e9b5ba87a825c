from __future__ import annotations

from rest_framework import serializers

from apps.alerts import event_input as contract
from apps.alerts.models import Alert, AlertEvent
from apps.common.fields import DetailsField


class AlertEventSerializer(serializers.ModelSerializer):
    id = serializers.CharField(source="public_id")

    class Meta:
        model = AlertEvent
        fields = ["id", "kind", "at", "actor_type", "actor_label", "note", "data"]


class AlertSerializer(serializers.ModelSerializer):
    id = serializers.CharField(source="public_id")
    site = serializers.CharField(source="site.public_id", default=None)
    site_name = serializers.CharField(source="site.name", default=None)
    device = serializers.CharField(source="device.public_id", default=None)
    device_name = serializers.SerializerMethodField()
    location_label = serializers.CharField(source="device.location_label", default="",
                                           help_text="Where the device is inside its site (Room 305), if named.")
    unnotified_reason = serializers.CharField(
        help_text="Non-empty when this alert paged nobody (no policy covers it, or every channel is disabled or "
                  "failing): the board shows it as 'nobody was notified'.")
    group = serializers.CharField(source="group.public_id", default=None,
                                  help_text="The outage alert this alert is paged through, if any.")
    in_maintenance = serializers.SerializerMethodField(
        help_text="Inside a maintenance window: recorded, paged when the window ends if still triggered.")
    snoozed = serializers.SerializerMethodField(help_text="Snoozed: pages again at snoozed_until if still triggered.")

    class Meta:
        model = Alert
        fields = ["id", "kind", "severity", "status", "source", "dedup_key", "summary", "details", "count",
                  "first_seen_at", "last_seen_at", "site", "site_name", "device", "device_name",
                  "location_label", "acknowledged_at", "acknowledged_by_label", "resolved_at", "resolved_by_label",
                  "resolution", "escalation_step", "unnotified_reason", "is_group", "group", "in_maintenance",
                  "maintenance_until", "snoozed", "snoozed_until", "created_at", "updated_at"]

    def get_in_maintenance(self, alert: Alert) -> bool:
        return alert.in_maintenance()

    def get_snoozed(self, alert: Alert) -> bool:
        return alert.is_snoozed()

    def get_device_name(self, alert: Alert) -> str | None:
        return str(alert.device) if alert.device_id else None


class AlertDetailSerializer(AlertSerializer):
    timeline = AlertEventSerializer(source="events", many=True)

    class Meta(AlertSerializer.Meta):
        fields = [*AlertSerializer.Meta.fields, "timeline"]


class NoteInput(serializers.Serializer):
    note = serializers.CharField(max_length=2000, allow_blank=True, default="", trim_whitespace=True)


class RequiredNoteInput(serializers.Serializer):
    note = serializers.CharField(max_length=2000, trim_whitespace=True)


class BulkInput(serializers.Serializer):
    ids = serializers.ListField(child=serializers.RegexField(r"^alr_[a-z0-9]{10,32}$"), min_length=1,
                                max_length=200)
    note = serializers.CharField(max_length=2000, allow_blank=True, default="")


class EventPayloadInput(serializers.Serializer):
    summary = serializers.CharField(max_length=contract.MAX_SUMMARY_LENGTH)
    severity = serializers.ChoiceField(choices=sorted(contract.PAGERDUTY_SEVERITIES))
    source = serializers.CharField(max_length=contract.MAX_SOURCE_LENGTH)
    site = serializers.CharField(max_length=contract.MAX_SITE_LENGTH, required=False,
                                 help_text="Site public id or location id.")
    details = DetailsField(required=False, default=dict)
    custom_details = DetailsField(required=False)


# The schema of the events API; the view checks bodies with `apps.alerts.event_input`,
# which a property test holds to this serializer (tests/alerts/test_event_contract.py).
class EventInput(serializers.Serializer):
    """The PagerDuty Events v2 shape, so existing monitors can point at Tocsin."""

    event_action = serializers.ChoiceField(choices=list(contract.EVENT_ACTIONS))
    dedup_key = serializers.CharField(max_length=contract.MAX_KEY_LENGTH, required=False)
    routing_key = serializers.CharField(max_length=contract.MAX_KEY_LENGTH, required=False,
                                        help_text="Ignored: the API key routes.")
    payload = EventPayloadInput(required=False)

    def validate(self, attrs):
        if attrs["event_action"] == "trigger" and "payload" not in attrs:
            raise serializers.ValidationError({"payload": [contract.PAYLOAD_REQUIRED]})
        if attrs["event_action"] != "trigger" and not attrs.get("dedup_key"):
            raise serializers.ValidationError({"dedup_key": [contract.KEY_REQUIRED]})
        return attrs


class SnoozeInput(serializers.Serializer):
    """Either `minutes` from now or an `until` instant (with its timezone)."""

    minutes = serializers.IntegerField(min_value=1, max_value=7 * 24 * 60, required=False)
    until = serializers.DateTimeField(required=False)

    def validate(self, attrs):
        if ("minutes" in attrs) == ("until" in attrs):
            raise serializers.ValidationError("Give either minutes or until.")
        return attrs
