"""People are named by username, and only members of the caller's tenant resolve."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from rest_framework import serializers

from apps.alerts.models import AlertKind
from apps.devices.models import Device
from apps.oncall.models import ContactKind, ContactMethod, MaintenanceWindow, NotificationRule, Roster, RosterOverride
from apps.tenancy.api.fields import TenantScopedRelatedField
from apps.tenancy.models import Site


class MemberField(serializers.SlugRelatedField):
    """A person by username; people outside the caller's tenant are 'not found'."""

    default_error_messages = {"does_not_exist": "No such person in this tenant.", "invalid": "Invalid value."}

    def __init__(self, **kwargs):
        kwargs.setdefault("slug_field", "username")
        kwargs.setdefault("queryset", get_user_model().objects.all())
        super().__init__(**kwargs)

    def get_queryset(self):
        tenant = self.context.get("tenant")
        if tenant is None:
            return get_user_model().objects.none()
        people = get_user_model().objects.filter(memberships__tenant=tenant)
        scope = self.context.get("scope")
        # A site-scoped manager names only people who cover one of their sites.
        return people if scope is None or scope.covers_tenant(tenant.pk) else people.filter(pk__in=scope.people_ids())


class ContactMethodSerializer(serializers.ModelSerializer):
    id = serializers.CharField(source="public_id", read_only=True)
    user = MemberField(required=False, help_text="Whose (username); yourself when left out.")
    kind = serializers.ChoiceField(choices=ContactKind.choices)
    address = serializers.CharField(max_length=254, help_text="E.164 number, email address or Slack member id.")
    label = serializers.CharField(max_length=60, required=False, allow_blank=True, default="")

    class Meta:
        model = ContactMethod
        fields = ["id", "user", "kind", "address", "label", "created_at"]
        read_only_fields = ["created_at"]


class NotificationRuleSerializer(serializers.ModelSerializer):
    id = serializers.CharField(source="public_id", read_only=True)
    contact_method = TenantScopedRelatedField(queryset=ContactMethod.objects.all())
    delay_minutes = serializers.IntegerField(min_value=0, max_value=24 * 60)
    user = serializers.CharField(source="user.username", read_only=True)

    class Meta:
        model = NotificationRule
        fields = ["id", "user", "contact_method", "delay_minutes", "created_at"]
        read_only_fields = ["created_at"]


class RosterSerializer(serializers.ModelSerializer):
    id = serializers.CharField(source="public_id", read_only=True)
    sites = TenantScopedRelatedField(queryset=Site.objects.all(), many=True, required=False)
    members = serializers.ListField(child=serializers.CharField(max_length=150), max_length=52, write_only=True,
                                    help_text="Usernames in their order of turns.")
    member_list = serializers.SerializerMethodField()
    timezone = serializers.CharField(max_length=64, required=False, allow_blank=True,
                                     help_text="IANA zone of the handover; the first site's when left out.")
    handover_weekday = serializers.IntegerField(min_value=0, max_value=6, default=0)

    class Meta:
        model = Roster
        fields = ["id", "name", "sites", "timezone", "handover_weekday", "handover_time", "starts_on", "members",
                  "member_list", "created_at"]
        read_only_fields = ["created_at"]

    def get_member_list(self, roster) -> list[str]:
        return [member.user.username for member in roster.members.select_related("user").order_by("position")]


class RosterOverrideSerializer(serializers.ModelSerializer):
    id = serializers.CharField(source="public_id", read_only=True)
    roster = TenantScopedRelatedField(queryset=Roster.objects.all())
    user = MemberField()
    reason = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")

    class Meta:
        model = RosterOverride
        fields = ["id", "roster", "user", "starts_at", "ends_at", "reason", "created_at"]
        read_only_fields = ["created_at"]


class PreviewQuery(serializers.Serializer):
    start = serializers.DateTimeField(required=False, help_text="Within two years of now; now by default.")
    days = serializers.IntegerField(min_value=1, max_value=62, default=14)

    def validate_start(self, value):
        from datetime import timedelta

        from django.utils import timezone

        if abs(value - timezone.now()) > timedelta(days=2 * 366):
            raise serializers.ValidationError("Preview within two years of now.")
        return value


class ShiftSerializer(serializers.Serializer):
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    user = serializers.CharField(allow_null=True)
    source = serializers.ChoiceField(choices=["rotation", "override"])
    override = serializers.CharField(allow_blank=True)


class MaintenanceWindowSerializer(serializers.ModelSerializer):
    id = serializers.CharField(source="public_id", read_only=True)
    site = TenantScopedRelatedField(queryset=Site.objects.all())
    devices = TenantScopedRelatedField(queryset=Device.objects.all(), many=True, required=False)
    kinds = serializers.ListField(child=serializers.ChoiceField(choices=AlertKind.choices), required=False,
                                  max_length=len(AlertKind.choices))
    reason = serializers.CharField(max_length=300)
    created_by = serializers.CharField(source="created_by_label", read_only=True)
    active = serializers.SerializerMethodField()

    class Meta:
        model = MaintenanceWindow
        fields = ["id", "site", "devices", "kinds", "starts_at", "ends_at", "reason", "created_by", "active",
                  "created_at"]
        read_only_fields = ["created_at"]

    def get_active(self, window) -> bool:
        from django.utils import timezone

        return window.starts_at <= timezone.now() < window.ends_at
