"""Gateway identity for MQTT: certificate authorities, gateways, revocations, the bridge's ledgers.

Invariant: Tocsin's database is the source of truth for who may talk to the broker. The
broker's own state (its dynamic-security clients and roles, its CRL file) is a copy that
provisioning writes step by step and that `mqtt_broker_config` can rebuild from these rows.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from apps.devices.models import Device
from apps.tenancy.models import Site, Tenant, TenantOwnedModel


class CertificateAuthority(models.Model):
    """The platform root (tenant empty) or one tenant's intermediate CA; the key is encrypted."""

    tenant = models.OneToOneField(Tenant, null=True, blank=True, on_delete=models.CASCADE,
                                  related_name="mqtt_ca")
    cert_pem = models.TextField()
    key_encrypted = models.TextField(help_text="Fernet under TOCSIN_ENCRYPTION_KEYS; rotated with them.")
    is_root = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["is_root"], condition=Q(is_root=True), name="iot_ca_one_root"),
                       models.CheckConstraint(condition=Q(is_root=True, tenant__isnull=True)
                                              | Q(is_root=False, tenant__isnull=False), name="iot_ca_root_or_tenant")]

    def __str__(self) -> str:
        return f"CA of {self.tenant}" if self.tenant_id else "Platform root CA"


class GatewayStatus(models.TextChoices):
    PROVISIONING = "provisioning", "Provisioning"
    ACTIVE = "active", "Active"
    REVOKED = "revoked", "Revoked"


class Gateway(TenantOwnedModel):
    """A plant's MQTT gateway: its device row, certificate and broker identity."""

    device = models.OneToOneField(Device, on_delete=models.CASCADE, related_name="mqtt_gateway")
    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="mqtt_gateways")
    identity = models.CharField(max_length=200, unique=True,
                                help_text="The certificate's common name: the gateway's MQTT username.")
    status = models.CharField(max_length=12, choices=GatewayStatus.choices, default=GatewayStatus.PROVISIONING)
    cert_pem = models.TextField(blank=True)
    cert_serial = models.CharField(max_length=48, blank=True, help_text="Hexadecimal serial number.")
    cert_fingerprint = models.CharField(max_length=64, blank=True)
    key_encrypted = models.TextField(
        blank=True, help_text="Only for hardware that cannot make a CSR; erased once downloaded.")
    key_downloaded_at = models.DateTimeField(null=True, blank=True)
    steps = models.JSONField(default=list, blank=True, help_text="Provisioning steps completed, in order.")
    created_at = models.DateTimeField(auto_now_add=True)
    activated_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["site__name"]
        constraints = [
            # The topic names the plant, not the gateway: a plant has one live gateway.
            models.UniqueConstraint(fields=["site"], condition=~Q(status=GatewayStatus.REVOKED),
                                    name="iot_one_live_gateway_per_plant"),
        ]

    def __str__(self) -> str:
        return f"Gateway {self.device} at {self.site}"

    @property
    def plant_id(self) -> str:
        return self.site.public_id


class RevokedCertificate(models.Model):
    """What the broker's CRL lists; kept after the gateway itself is deleted."""

    authority = models.ForeignKey(CertificateAuthority, on_delete=models.CASCADE, related_name="revoked")
    serial = models.CharField(max_length=48)
    identity = models.CharField(max_length=200)
    revoked_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["authority", "serial"], name="iot_revoked_once")]

    def __str__(self) -> str:
        return f"{self.identity} (serial {self.serial})"


class DeadLetter(models.Model):
    """An MQTT message the bridge could not store, with why; it never stops the bridge."""

    tenant = models.ForeignKey(Tenant, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    topic = models.CharField(max_length=300)
    payload_excerpt = models.TextField(blank=True, help_text="The first 2 KB, as received.")
    reason = models.CharField(max_length=300)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-received_at"]
        indexes = [models.Index(fields=["tenant", "-received_at"], name="iot_deadletter_recent")]

    def __str__(self) -> str:
        return f"{self.topic}: {self.reason}"


class SeenMessage(models.Model):
    """Dedup layer 1: a message id is stored once per plant within the window."""

    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="+")
    message_key = models.CharField(max_length=64)
    seen_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["site", "message_key"], name="iot_message_seen_once")]
        indexes = [models.Index(fields=["seen_at"], name="iot_seen_at")]

    def __str__(self) -> str:
        return self.message_key


class DedupLayer(models.TextChoices):
    MESSAGE = "message", "1: message id"
    READING = "reading", "2: reading (device, inverter, metric, timestamp)"
    ALERT = "alert", "3: alert dedup key"


class BridgeCounter(models.Model):
    """Counters written in the bridge's own transactions, so they are exact after a crash."""

    name = models.CharField(max_length=40, unique=True)
    value = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.name} = {self.value}"
