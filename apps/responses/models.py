"""What makes an answer count once: spent nonces.

Invariant: a signed request or link is acted on at most once. Its nonce (an email link's,
a Slack request's signature, a Twilio message's SID) is inserted here in the transaction
that acts on it; the unique key refuses a second insert, so a replay or a reused link
changes nothing, however many arrive at once. Rows are kept past every window they
guard (an email link's life, Slack's five minutes) and then purged.
"""

from __future__ import annotations

from django.db import models


class NonceScope(models.TextChoices):
    EMAIL_LINK = "email", "Email action link"
    SLACK = "slack", "Slack interactivity request"
    TWILIO_SMS = "sms", "Twilio inbound message"


class SpentNonce(models.Model):
    scope = models.CharField(max_length=8, choices=NonceScope.choices)
    nonce = models.CharField(max_length=100)
    spent_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["scope", "nonce"], name="spent_nonce_once")]
        indexes = [models.Index(fields=["spent_at"], name="spent_nonce_age")]

    def __str__(self) -> str:
        return f"{self.scope} nonce spent at {self.spent_at:%Y-%m-%d %H:%M}"
