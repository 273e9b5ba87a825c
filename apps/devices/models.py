"""Machine identities: devices enrolled with setup tokens, and API keys for integrations."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from apps.common.ids import PublicIdField
from apps.tenancy.models import Role, Site, TenantOwnedModel


class SetupToken(TenantOwnedModel):
    """An enrolment secret for one site. Shown once; only its SHA-256 is stored."""

    public_id = PublicIdField(prefix="stk")
    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="setup_tokens")
    label = models.CharField(max_length=100, blank=True)
    location_label = models.CharField(
        max_length=60, blank=True, default="", db_default="",
        help_text="Printed in the QR code: the device enrolled with it is named so (Room 305), unless it "
                  "names itself.")
    token_hash = models.CharField(max_length=64, unique=True)
    hint = models.CharField(max_length=12, help_text="The first characters, to tell tokens apart.")
    max_uses = models.PositiveIntegerField(default=1)
    uses = models.PositiveIntegerField(default=0)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(uses__lte=F("max_uses")), name="setup_token_uses_within_limit"),
        ]

    def __str__(self) -> str:
        return f"{self.hint}… for {self.site.location_id}"

    @property
    def is_usable(self) -> bool:
        return self.revoked_at is None and self.expires_at > timezone.now() and self.uses < self.max_uses

    @property
    def state(self) -> str:
        if self.revoked_at:
            return "revoked"
        if self.expires_at <= timezone.now():
            return "expired"
        if self.uses >= self.max_uses:
            return "used_up"
        return "active"


class DeviceKind(models.TextChoices):
    SCANNER = "scanner", "ID scanner"
    TABLET = "tablet", "Room tablet"
    GATEWAY = "gateway", "Plant gateway"


class DeviceStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    ACTIVE = "active", "Active"
    REVOKED = "revoked", "Revoked"


class Device(TenantOwnedModel):
    public_id = PublicIdField(prefix="dev")
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="devices")
    name = models.CharField(max_length=100, blank=True)
    location_label = models.CharField(
        max_length=60, blank=True, default="", db_default="",
        help_text="Where the device is inside its site, as staff say it: Room 305, Till 2, Inverter 07. "
                  "Alerts, pages and the board show it.")
    hardware_id = models.CharField(max_length=128, unique=True,
                                   help_text="Unique across Tocsin: a device belongs to one tenant.")
    model = models.CharField(max_length=100, blank=True)
    kind = models.CharField(max_length=10, choices=DeviceKind.choices)
    status = models.CharField(max_length=10, choices=DeviceStatus.choices, default=DeviceStatus.PENDING)
    public_key = models.CharField(max_length=64, help_text="Ed25519 public key, base64.")
    token_version = models.PositiveIntegerField(default=1)

    last_seen_at = models.DateTimeField(null=True, blank=True, db_index=True,
                                        help_text="When the server last heard from the device.")
    last_heartbeat_at = models.DateTimeField(null=True, blank=True,
                                             help_text="The device's own time of its newest heartbeat.")
    battery_level = models.PositiveSmallIntegerField(null=True, blank=True)
    battery_charging = models.BooleanField(null=True, blank=True)
    link_rssi = models.SmallIntegerField(null=True, blank=True)
    link_bssid = models.CharField(max_length=17, blank=True)
    firmware = models.CharField(max_length=64, blank=True)
    # The shadow (apps/devices/shadows.py): what staff want and what the device says it has,
    # one version for both, per-key update times in shadow_metadata.
    desired_state = models.JSONField(default=dict, blank=True)
    reported_state = models.JSONField(default=dict, blank=True)
    shadow_version = models.PositiveBigIntegerField(default=0)
    shadow_metadata = models.JSONField(default=dict, blank=True)
    shadow_pending_since = models.DateTimeField(
        null=True, blank=True, help_text="Since when desired and reported differ (null: converged).")
    shadow_drift_at = models.DateTimeField(null=True, blank=True,
                                           help_text="When the drift alert was raised (null: none open).")
    # What the server's rules remember about the device (alarms, streaks, offline flag).
    rule_state = models.JSONField(default=dict, blank=True)
    # The agent's outbox as its newest heartbeat described it.
    outbox_size = models.PositiveIntegerField(null=True, blank=True)
    outbox_oldest_age_s = models.PositiveIntegerField(null=True, blank=True)
    outbox_parked = models.PositiveIntegerField(null=True, blank=True)
    commands_waiting_since = models.DateTimeField(
        null=True, blank=True, editable=False,
        help_text="Set when a command is queued: the heartbeat looks for commands only then.")

    enrolled_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    revoke_reason = models.CharField(max_length=200, blank=True)
    readmit_until = models.DateTimeField(
        null=True, blank=True,
        help_text="Set by a staff re-admit: until then, the next enrolment of this hardware id may re-key "
                  "the device without its current key (and brings a revoked device back).")
    created_at = models.DateTimeField(auto_now_add=True)
    archived_at = models.DateTimeField(
        null=True, blank=True, editable=False,
        help_text="Deleted while it had history: revoked for good, kept so its scans and alerts keep their source.")

    class Meta:
        ordering = ["site__name", "name"]
        indexes = [models.Index(fields=["tenant", "status", "kind"], name="device_tenant_status_kind")]

    def __str__(self) -> str:
        return self.location_label or self.name or self.hardware_id

    @property
    def is_active(self) -> bool:
        return self.status == DeviceStatus.ACTIVE


class Enrollment(TenantOwnedModel):
    """Phase one of enrolment: a one-time challenge the device must sign with its key."""

    public_id = PublicIdField(prefix="enr")
    setup_token = models.ForeignKey(SetupToken, on_delete=models.CASCADE, related_name="enrollments")
    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="+")
    hardware_id = models.CharField(max_length=128)
    model = models.CharField(max_length=100, blank=True)
    kind = models.CharField(max_length=10, choices=DeviceKind.choices)
    public_key = models.CharField(max_length=64)
    location_label = models.CharField(max_length=60, blank=True, default="", db_default="")
    challenge = models.CharField(max_length=64)
    expires_at = models.DateTimeField()
    completed_at = models.DateTimeField(null=True, blank=True)
    device = models.ForeignKey(Device, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)


class DeviceChallenge(TenantOwnedModel):
    """A one-time challenge for token renewal, signed with the device's enrolled key."""

    public_id = PublicIdField(prefix="chl")
    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="challenges")
    challenge = models.CharField(max_length=64)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)


class DeviceRefreshCredential(TenantOwnedModel):
    """What a legacy tablet (no key pair) presents to get its next token: one use each.

    Only the SHA-256 is stored. Using it supersedes it and issues the next one; superseded
    rows are kept so that a second use of an old one (someone copied it) is recognised:
    the device is revoked and a tamper alert raised.
    """

    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="refresh_credentials")
    credential_hash = models.CharField(max_length=64, unique=True)
    superseded_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["device"], condition=Q(superseded_at__isnull=True),
                                    name="one_current_refresh_credential_per_device"),
        ]


class ApiKeyScope(models.TextChoices):
    READ = "read", "Read"
    WRITE_EVENTS = "write_events", "Write events"


# The person's role each scope stands for: a key is held to the same per-role rules as
# people (a `read` key reads what a viewer reads, so not the audit log or setup tokens).
SCOPE_ROLES = {ApiKeyScope.READ: Role.VIEWER, ApiKeyScope.WRITE_EVENTS: Role.STAFF}


class ApiKeyTier(models.IntegerChoices):
    STANDARD = 60, "60/min"
    PLUS = 300, "300/min"
    HIGH = 1000, "1000/min"


class ApiKey(TenantOwnedModel):
    """A server-to-server credential: `tk_<prefix>_<secret>`, shown once, stored hashed."""

    public_id = PublicIdField(prefix="key")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, unique=True)
    key_hash = models.CharField(max_length=64)
    scopes = models.JSONField(default=list)
    tier = models.PositiveIntegerField(choices=ApiKeyTier.choices, default=ApiKeyTier.STANDARD)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} (tk_{self.prefix}_…)"

    @property
    def is_usable(self) -> bool:
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > timezone.now())

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes


class CommandName(models.TextChoices):
    FLUSH = "flush", "Force a batch flush"
    RELOAD_CONFIG = "reload_config", "Reload configuration"
    REBOOT = "reboot", "Reboot"
    ROTATE_KEY = "rotate_key", "Rotate the device key"
    SET_POWER_LIMIT = "set_power_limit", "Set the plant power limit"


class CommandStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    DELIVERED = "delivered", "Delivered"
    ACKED = "acked", "Acknowledged"
    FAILED = "failed", "Failed"
    EXPIRED = "expired", "Expired"


OPEN_COMMAND_STATUSES = (CommandStatus.PENDING, CommandStatus.DELIVERED)


class DeviceCommand(TenantOwnedModel):
    """One command to one device (a group command is one row per device, sharing `group`)."""

    public_id = PublicIdField(prefix="cmd")
    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="commands")
    name = models.CharField(max_length=20, choices=CommandName.choices)
    params = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=CommandStatus.choices, default=CommandStatus.PENDING)
    group = models.CharField(max_length=40, blank=True, help_text="Shared by the rows of one group command.")
    result = models.JSONField(default=dict, blank=True)
    created_by_label = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    delivered_at = models.DateTimeField(null=True, blank=True)
    delivered_via = models.CharField(max_length=10, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["device", "created_at"], name="command_open_per_device",
                         condition=Q(status__in=["pending", "delivered"])),
            models.Index(fields=["expires_at"], name="command_open_expiry",
                         condition=Q(status__in=["pending", "delivered"])),
        ]

    def __str__(self) -> str:
        return f"{self.get_name_display()} → {self.device} ({self.status})"
