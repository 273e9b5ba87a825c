from __future__ import annotations

from rest_framework import serializers

from apps.alerts.models import AlertKind, Severity
from apps.notifications.models import Channel, ChannelKind, EscalationPolicy, Notification
from apps.tenancy.api.fields import TenantScopedRelatedField
from apps.tenancy.models import Role, Site


class ChannelSerializer(serializers.ModelSerializer):
    id = serializers.CharField(source="public_id", read_only=True)
    kind = serializers.ChoiceField(choices=ChannelKind.choices)
    secret = serializers.CharField(write_only=True, required=False, allow_blank=True, max_length=500,
                                   help_text="Slack bot token or incoming-webhook URL, a webhook signing secret, or a "
                                             "Teams workflow URL.")
    has_secret = serializers.BooleanField(read_only=True)

    class Meta:
        model = Channel
        fields = ["id", "name", "kind", "target", "secret", "has_secret", "enabled", "created_at"]
        read_only_fields = ["created_at"]


class StepInput(serializers.Serializer):
    delay_minutes = serializers.IntegerField(min_value=0, max_value=24 * 60)
    channels = serializers.ListField(child=serializers.CharField(max_length=40), max_length=20, default=list)
    users = serializers.ListField(child=serializers.CharField(max_length=150), max_length=50, default=list,
                                 help_text="Usernames of members paged through their notification rules.")
    rosters = serializers.ListField(child=serializers.CharField(max_length=40), max_length=20, default=list,
                                   help_text="Roster ids: whoever is on call when the step runs.")
    site_roster = serializers.BooleanField(default=False, help_text="Whoever is on call on the alert's site's rosters.")
    site_roles = serializers.ListField(child=serializers.ChoiceField(choices=Role.choices), max_length=4,
                                      default=list, help_text="Everyone with these roles covering the alert's site.")

    def validate(self, attrs):
        # A PATCH is partial for the policy, never for a step it sends: DRF would pass the
        # root's `partial` down and let a step without its delay through.
        missing = [name for name in ("delay_minutes",) if name not in attrs]
        if missing:
            raise serializers.ValidationError({name: ["This field is required."] for name in missing})
        return attrs


class PolicySerializer(serializers.ModelSerializer):
    id = serializers.CharField(source="public_id", read_only=True)
    kinds = serializers.ListField(child=serializers.ChoiceField(choices=AlertKind.choices), required=False)
    severities = serializers.ListField(child=serializers.ChoiceField(choices=Severity.choices), required=False)
    sites = TenantScopedRelatedField(queryset=Site.objects.all(), many=True, required=False)
    steps = StepInput(many=True, write_only=True)
    step_list = serializers.SerializerMethodField()
    repeat_times = serializers.IntegerField(min_value=0, max_value=5, default=0)

    class Meta:
        model = EscalationPolicy
        fields = ["id", "name", "priority", "kinds", "severities", "sites", "steps", "step_list", "repeat_times",
                  "repeat_after_minutes", "notify_on_acknowledge", "notify_on_resolve", "enabled", "created_at"]
        read_only_fields = ["created_at"]

    def get_step_list(self, policy) -> list[dict]:
        return [{"order": s.order, "delay_minutes": s.delay_minutes,
                 "channels": [c.public_id for c in s.channels.all()],
                 "users": [u.username for u in s.users.all()], "rosters": [r.public_id for r in s.rosters.all()],
                 "site_roster": s.site_roster, "site_roles": list(s.site_roles or [])} for s in policy.steps.all()]


class NotificationSerializer(serializers.ModelSerializer):
    id = serializers.CharField(source="public_id")
    alert = serializers.CharField(source="alert.public_id")
    channel = serializers.CharField(source="channel.public_id")
    channel_name = serializers.CharField(source="channel.name")
    channel_kind = serializers.CharField(source="channel.kind")

    class Meta:
        model = Notification
        fields = ["id", "alert", "channel", "channel_name", "channel_kind", "step", "purpose", "status", "attempts",
                  "due_at", "last_error", "error_code", "provider", "provider_message_id", "receipt_status",
                  "receipt_error_code", "receipt_at", "sent_at", "dead_at", "created_at"]


class RoutingQuery(serializers.Serializer):
    kind = serializers.ListField(child=serializers.ChoiceField(choices=AlertKind.choices), required=False,
                                 max_length=len(AlertKind.choices))
    severity = serializers.ListField(child=serializers.ChoiceField(choices=Severity.choices), required=False,
                                     max_length=len(Severity.choices))
    site = serializers.ListField(child=serializers.CharField(max_length=40), required=False, max_length=200)

    def to_internal_value(self, data):
        # Query strings repeat keys (?kind=breach&kind=offline): read every value.
        if hasattr(data, "getlist"):
            data = {key: data.getlist(key) for key in ("kind", "severity", "site") if key in data}
        values = super().to_internal_value(data)
        result = {"kinds": values.get("kind"), "severities": values.get("severity")}
        if values.get("site"):
            sites = list(Site.objects.for_tenant(self.context["tenant"]).filter(public_id__in=values["site"]))
            if len(sites) != len(set(values["site"])):
                raise serializers.ValidationError({"site": ["No such site."]})
            result["sites"] = sites
        return result


class RoutingEntrySerializer(serializers.Serializer):
    site = serializers.CharField(allow_null=True)
    site_name = serializers.CharField(allow_null=True)
    kind = serializers.CharField()
    severity = serializers.CharField()
    policy = serializers.CharField(allow_null=True, help_text="The policy's id, or null when none covers it.")
    policy_name = serializers.CharField(allow_null=True)
    first_step_channels = serializers.ListField(child=serializers.DictField())
    pages_nobody = serializers.BooleanField()
    reason = serializers.CharField(allow_blank=True)
