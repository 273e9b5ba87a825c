"""Channels, escalation policies and the outbox of notifications.

A Notification row is one delivery of one alert to one channel at one escalation step;
it is unique on (alert, channel, cycle, step, purpose), so a retry or a re-run can never send
twice by creating a second row: it can only find the row and see it was sent.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from apps.alerts.models import Alert
from apps.common.crypto import decrypt_secret, encrypt_secret
from apps.common.ids import PublicIdField
from apps.tenancy.models import Site, TenantOwnedModel


class ChannelKind(models.TextChoices):
    SMS = "sms", "SMS (Twilio)"
    SLACK = "slack", "Slack"
    EMAIL = "email", "Email"
    MANAGERS = "managers", "Email to the tenant's owners and admins"
    WEBHOOK = "webhook", "Signed webhook"
    VOICE = "voice", "Voice call (Twilio)"
    TEAMS = "teams", "Microsoft Teams (workflow webhook)"


PHONE_KINDS = (ChannelKind.SMS, ChannelKind.VOICE)


class Channel(TenantOwnedModel):
    """Where a notification goes. `target` is the number, Slack channel, addresses or URL
    (a Teams channel's is its workflow's webhook URL);
    `secret` (a Slack bot token or incoming-webhook URL, a webhook signing secret) is
    stored encrypted and never shown again."""

    public_id = PublicIdField(prefix="chn")
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=10, choices=ChannelKind.choices)
    target = models.CharField(max_length=500)
    secret_encrypted = models.TextField(blank=True)
    enabled = models.BooleanField(default=True)
    contact_method = models.OneToOneField(
        "oncall.ContactMethod", null=True, blank=True, editable=False, on_delete=models.SET_NULL,
        related_name="channel",
        help_text="Set on a person's personal channel: the contact method it delivers to. Such channels are "
                  "made and kept in step by the notification engine, never listed or edited as channels.")
    personal = models.BooleanField(
        default=False, db_default=False, editable=False,
        help_text="A person's personal channel (kept even when its contact method is deleted, for its history).")
    created_at = models.DateTimeField(auto_now_add=True)
    archived_at = models.DateTimeField(
        null=True, blank=True, editable=False,
        help_text="Deleted while it had deliveries: disabled for good, kept so its delivery history stays.")

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_kind_display()})"

    @property
    def secret(self) -> str:
        return decrypt_secret(self.secret_encrypted)

    @secret.setter
    def secret(self, value: str) -> None:
        self.secret_encrypted = encrypt_secret(value or "")

    @property
    def has_secret(self) -> bool:
        return bool(self.secret_encrypted)


class EscalationPolicy(TenantOwnedModel):
    """Which alerts it covers (empty lists mean all) and the ordered steps of who to tell."""

    public_id = PublicIdField(prefix="pol")
    name = models.CharField(max_length=100)
    priority = models.PositiveSmallIntegerField(default=100, help_text="Lower wins when several policies match.")
    kinds = models.JSONField(default=list, blank=True)
    severities = models.JSONField(default=list, blank=True)
    sites = models.ManyToManyField(Site, blank=True, related_name="+")
    repeat_times = models.PositiveSmallIntegerField(
        default=0, help_text="Run the steps again this many times while nobody acknowledges (at most 5).")
    repeat_after_minutes = models.PositiveSmallIntegerField(default=10)
    notify_on_acknowledge = models.BooleanField(default=True,
                                                help_text="Tell the channels already paged who acknowledged.")
    notify_on_resolve = models.BooleanField(default=False)
    enabled = models.BooleanField(default=True)
    is_catch_all = models.BooleanField(default=False, editable=False,
                                       help_text="Created with the tenant so that no alert goes unrouted.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["priority", "name"]
        verbose_name_plural = "escalation policies"

    def __str__(self) -> str:
        return self.name


class EscalationStep(TenantOwnedModel):
    policy = models.ForeignKey(EscalationPolicy, on_delete=models.CASCADE, related_name="steps")
    order = models.PositiveSmallIntegerField()
    delay_minutes = models.PositiveIntegerField(default=0, help_text="Minutes after the alert was raised.")
    channels = models.ManyToManyField(Channel, related_name="+", blank=True)
    # People, resolved when the step runs (not when the alert is raised).
    users = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="+",
                                   help_text="These people, through their notification rules.")
    rosters = models.ManyToManyField("oncall.Roster", blank=True, related_name="+",
                                     help_text="Whoever is on call on these rosters when the step runs.")
    site_roster = models.BooleanField(default=False, db_default=False,
                                      help_text="Whoever is on call on the rosters of the alert's site.")
    site_roles = models.JSONField(default=list, blank=True,
                                  help_text="Everyone with these roles (owner, admin, staff, viewer) who covers "
                                            "the alert's site.")

    class Meta:
        ordering = ["order"]
        constraints = [models.UniqueConstraint(fields=["policy", "order"], name="step_order_unique_per_policy")]

    def __str__(self) -> str:
        return f"step {self.order} after {self.delay_minutes} min"


class QuietHours(TenantOwnedModel):
    """Local hours at a site when non-critical alerts wait; critical ones never do."""

    site = models.OneToOneField(Site, on_delete=models.CASCADE, related_name="quiet_hours")
    start = models.TimeField(help_text="Local time at the site, e.g. 22:00.")
    end = models.TimeField(help_text="Local time at the site, e.g. 07:00 (may be the next day).")
    enabled = models.BooleanField(default=True)

    class Meta:
        verbose_name_plural = "quiet hours"


class Purpose(models.TextChoices):
    PAGE = "page", "Page"
    ACKNOWLEDGED = "ack", "Acknowledgement notice"
    RESOLVED = "resolve", "Resolution notice"


class NotificationStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed (permanent)"
    DEAD = "dead", "Dead (retries exhausted)"
    CANCELLED = "cancelled", "Cancelled (no longer due)"


class Notification(TenantOwnedModel):
    public_id = PublicIdField(prefix="ntf")
    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="notifications")
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="notifications")
    cycle = models.PositiveSmallIntegerField(default=0, help_text="The alert's paging cycle (a reopen starts one).")
    step = models.PositiveSmallIntegerField(default=0)
    purpose = models.CharField(max_length=8, choices=Purpose.choices, default=Purpose.PAGE)
    status = models.CharField(max_length=10, choices=NotificationStatus.choices, default=NotificationStatus.PENDING)
    due_at = models.DateTimeField(help_text="Not sent before this (quiet hours, retry backoff).")
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.CharField(max_length=300, blank=True)
    error_code = models.CharField(max_length=40, blank=True)
    provider = models.CharField(max_length=20, blank=True)
    provider_message_id = models.CharField(max_length=100, blank=True, db_index=True)
    bundled_into = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                                     help_text="Sent inside another notification's SMS.")
    receipt_status = models.CharField(max_length=20, blank=True)
    receipt_error_code = models.CharField(max_length=20, blank=True)
    receipt_at = models.DateTimeField(null=True, blank=True)
    enqueued_at = models.DateTimeField(null=True, blank=True)
    sending_since = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    dead_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["alert", "channel", "cycle", "step", "purpose"],
                                    name="notification_once_per_cycle_step"),
        ]
        indexes = [
            models.Index(fields=["status", "due_at"], name="notification_outbox",
                         condition=Q(status__in=["pending", "sending"])),
            models.Index(fields=["tenant", "status"], name="notification_tenant_status"),
        ]

    def __str__(self) -> str:
        return f"{self.get_purpose_display()} of {self.alert_id} to {self.channel} ({self.status})"


class RoutingVersion(models.Model):
    """Bumped by every change to a tenant's routing, so processes know when their copy of
    its policies is stale (see routing.py)."""

    tenant = models.OneToOneField("tenancy.Tenant", primary_key=True, on_delete=models.CASCADE, related_name="+")
    version = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"routing v{self.version} of tenant {self.tenant_id}"
