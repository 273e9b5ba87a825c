"""Who can be paged, and how: a person's contact methods and the rules that order them.

A contact method belongs to one person (a user) within one tenant: the same phone number may
be a contact of one person per tenant and kind, never two, so an inbound reply from a number
names exactly one person of that tenant. The notification engine pages a contact method
through a personal channel of its own (`notifications.Channel.contact_method`), so delivery,
retries and receipts are the same as for any channel.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator
from django.db import models

from apps.common.ids import PublicIdField
from apps.tenancy.models import TenantOwnedModel


class ContactKind(models.TextChoices):
    SMS = "sms", "SMS"
    VOICE = "voice", "Voice call"
    EMAIL = "email", "Email"
    SLACK = "slack", "Slack direct message"


class ContactMethod(TenantOwnedModel):
    """One way to reach a person: an E.164 number (sms, voice), an email address or a Slack user id."""

    public_id = PublicIdField(prefix="cm")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="contact_methods")
    kind = models.CharField(max_length=10, choices=ContactKind.choices)
    address = models.CharField(max_length=254)
    label = models.CharField(max_length=60, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["user_id", "kind", "address"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "kind", "address"], name="contact_method_unique_per_tenant"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.address}"


class NotificationRule(TenantOwnedModel):
    """When a person is paged, use this contact method this many minutes after the page starts."""

    public_id = PublicIdField(prefix="nr")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_rules")
    contact_method = models.ForeignKey(ContactMethod, on_delete=models.CASCADE, related_name="rules")
    delay_minutes = models.PositiveSmallIntegerField(default=0, validators=[MaxValueValidator(24 * 60)])
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["user_id", "delay_minutes"]
        constraints = [
            models.UniqueConstraint(fields=["contact_method", "delay_minutes"], name="notification_rule_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.contact_method} after {self.delay_minutes} min"


class Roster(TenantOwnedModel):
    """A weekly rotation of people covering a site or a group of sites.

    The handover happens every week on `handover_weekday` at `handover_time`, wall-clock time
    in `timezone` (the sites' own, by default): 09:00 stays 09:00 across a daylight-saving change.
    """

    public_id = PublicIdField(prefix="ros")
    name = models.CharField(max_length=100)
    sites = models.ManyToManyField("tenancy.Site", blank=True, related_name="rosters",
                                   help_text="The sites whose 'on-call of this site's roster' steps page it.")
    timezone = models.CharField(max_length=64, help_text="The handover's timezone, e.g. Europe/Lisbon.")
    handover_weekday = models.PositiveSmallIntegerField(
        default=0, validators=[MaxValueValidator(6)], help_text="0 = Monday ... 6 = Sunday.")
    handover_time = models.TimeField(help_text="Local time of the weekly handover, e.g. 09:00.")
    starts_on = models.DateField(help_text="The rotation's first week starts at the first handover on or after "
                                           "this date, with the first person of the rotation.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class RosterMember(TenantOwnedModel):
    """One person's turn in a rotation: position 0 takes the first week, 1 the second..."""

    roster = models.ForeignKey(Roster, on_delete=models.CASCADE, related_name="members")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    position = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["roster_id", "position"]
        constraints = [
            models.UniqueConstraint(fields=["roster", "position"], name="roster_member_position_unique"),
            models.UniqueConstraint(fields=["roster", "user"], name="roster_member_once"),
        ]

    def __str__(self) -> str:
        return f"{self.user} (turn {self.position + 1})"


class RosterOverride(TenantOwnedModel):
    """'Ana covers Friday night': wins over the rotation while it lasts; overlapping
    overrides are layered, the one created last on top."""

    public_id = PublicIdField(prefix="rov")
    roster = models.ForeignKey(Roster, on_delete=models.CASCADE, related_name="overrides")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    reason = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["starts_at"]
        constraints = [
            models.CheckConstraint(condition=models.Q(ends_at__gt=models.F("starts_at")),
                                   name="roster_override_ends_after_start"),
        ]
        indexes = [models.Index(fields=["roster", "ends_at"], name="roster_override_current")]

    def __str__(self) -> str:
        return f"{self.user} covers {self.roster}"


class ShiftNotice(TenantOwnedModel):
    """One 'your shift starts' notice per person, roster and shift: the unique key makes the
    beat task idempotent however often it runs."""

    roster = models.ForeignKey(Roster, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    shift_start = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["roster", "user", "shift_start"], name="shift_notice_once"),
        ]


class MaintenanceWindow(TenantOwnedModel):
    """Planned work at a site: alerts inside it are recorded but page nobody until it ends.

    Empty `devices` / `kinds` mean every device / every kind at the site.
    """

    public_id = PublicIdField(prefix="mw")
    site = models.ForeignKey("tenancy.Site", on_delete=models.CASCADE, related_name="maintenance_windows")
    devices = models.ManyToManyField("devices.Device", blank=True, related_name="+")
    kinds = models.JSONField(default=list, blank=True)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    reason = models.CharField(max_length=300)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_by_label = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-starts_at"]
        constraints = [
            models.CheckConstraint(condition=models.Q(ends_at__gt=models.F("starts_at")),
                                   name="maintenance_ends_after_start"),
        ]
        indexes = [models.Index(fields=["site", "ends_at"], name="maintenance_current")]

    def __str__(self) -> str:
        return f"Maintenance at {self.site}: {self.reason}"
