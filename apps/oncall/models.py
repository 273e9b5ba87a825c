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
