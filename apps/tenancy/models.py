"""Tenants own sites; people belong to tenants through memberships with a role."""

from __future__ import annotations

import secrets
import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from apps.common.ids import PublicIdField


def validate_timezone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"'{value}' is not a known IANA timezone.")


class Vertical(models.TextChoices):
    HOSPITALITY = "hospitality", "Hospitality"
    RETAIL = "retail", "Retail"
    ENERGY = "energy", "Energy"


def new_scan_hash_key() -> str:
    return secrets.token_hex(32)


class Tenant(models.Model):
    public_id = PublicIdField(prefix="ten")
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=60, unique=True)
    vertical = models.CharField(max_length=20, choices=Vertical.choices)
    is_active = models.BooleanField(default=True)
    require_two_factor = models.BooleanField(
        default=False, db_default=False,
        help_text="Set by the tenant's owners: its members sign in to the admin with a confirmed TOTP "
                  "authenticator, and are sent to enrol one first.")
    scan_hash_key = models.CharField(
        max_length=64, default=new_scan_hash_key, editable=False,
        help_text="Key of the HMAC that devices apply to document numbers, so scans of the "
                  "same document can be matched within this tenant and never across tenants.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class TenantQuerySet(models.QuerySet):
    """Every tenant-owned read starts here: `Model.objects.for_tenant(tenant)`."""

    def for_tenant(self, tenant: Tenant) -> TenantQuerySet:
        return self.filter(tenant=tenant)

    def for_tenants(self, tenants) -> TenantQuerySet:
        return self.filter(tenant__in=tenants)


class TenantOwnedModel(models.Model):
    """Base for every row a tenant owns: it carries `tenant` and the scoped queryset."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")

    objects = TenantQuerySet.as_manager()

    class Meta:
        abstract = True


class SiteKind(models.TextChoices):
    HOTEL = "hotel", "Hotel"
    STORE = "store", "Store"
    PLANT = "plant", "Plant"


def default_business_hours() -> dict:
    """Monday..Sunday as ISO weekday numbers → list of [open, close] in local time."""
    return {str(day): [["00:00", "24:00"]] for day in range(1, 8)}


class Site(TenantOwnedModel):
    public_id = PublicIdField(prefix="site")
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="sites")
    name = models.CharField(max_length=200)
    location_id = models.CharField(
        max_length=40, help_text="Short code printed on the site's setup QR codes, unique per tenant."
    )
    kind = models.CharField(max_length=10, choices=SiteKind.choices)
    timezone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone])
    address = models.TextField(blank=True)
    business_hours = models.JSONField(default=default_business_hours, blank=True)
    outage_threshold = models.PositiveSmallIntegerField(
        default=5, db_default=5, validators=[MaxValueValidator(1000)],
        help_text="This many alerts of one kind (e.g. devices offline) within the window open one outage "
                  "alert that is paged once. 0 turns outage grouping off.")
    outage_window_seconds = models.PositiveIntegerField(
        default=120, db_default=120, validators=[MinValueValidator(10), MaxValueValidator(3600)],
        help_text="How close together those alerts must be, in seconds.")
    latitude = models.FloatField(
        null=True, blank=True, validators=[MinValueValidator(-90.0), MaxValueValidator(90.0)],
        help_text="Degrees north (negative: south). With the longitude, gives plant rules their daylight.")
    longitude = models.FloatField(
        null=True, blank=True, validators=[MinValueValidator(-180.0), MaxValueValidator(180.0)],
        help_text="Degrees east (negative: west).")
    created_at = models.DateTimeField(auto_now_add=True)
    archived_at = models.DateTimeField(
        null=True, blank=True, editable=False,
        help_text="Deprovisioned: its devices and setup tokens are revoked, its history is kept.")

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "location_id"], name="site_location_unique_per_tenant"),
            # A position is both coordinates or neither, and on the globe.
            models.CheckConstraint(
                condition=(models.Q(latitude__isnull=True, longitude__isnull=True)
                           | models.Q(latitude__isnull=False, longitude__isnull=False, latitude__gte=-90,
                                      latitude__lte=90, longitude__gte=-180, longitude__lte=180)),
                name="site_coordinates_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.location_id})"

    def clean(self) -> None:
        super().clean()
        if (self.latitude is None) != (self.longitude is None):
            missing = "longitude" if self.longitude is None else "latitude"
            raise ValidationError({missing: "Give both coordinates, or neither."})

    @property
    def has_coordinates(self) -> bool:
        return self.latitude is not None and self.longitude is not None

    @property
    def zoneinfo(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    ADMIN = "admin", "Admin"
    STAFF = "staff", "Staff"
    VIEWER = "viewer", "Viewer"


ALL_ROLES = frozenset(Role.values)
# Who outranks whom: nobody grants, or changes the membership of, a role above their own.
ROLE_RANK = {Role.VIEWER: 1, Role.STAFF: 2, Role.ADMIN: 3, Role.OWNER: 4}
MANAGER_ROLES = frozenset({Role.OWNER, Role.ADMIN})
OPERATOR_ROLES = frozenset({Role.OWNER, Role.ADMIN, Role.STAFF})


class ActiveMembershipQuerySet(TenantQuerySet):
    pass


class ActiveMembershipManager(models.Manager.from_queryset(ActiveMembershipQuerySet)):
    """`Membership.objects`: what grants access. A deactivated membership grants nothing,
    so every read that asks "is this person a member" leaves it out without knowing."""

    def get_queryset(self):
        return super().get_queryset().filter(is_active=True)


class Membership(TenantOwnedModel):
    public_id = PublicIdField(prefix="mem")
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.STAFF)
    all_sites = models.BooleanField(
        default=True, help_text="Covers every site of the tenant, present and future. Off: only the sites chosen.")
    sites = models.ManyToManyField(Site, blank=True, related_name="+",
                                   help_text="The sites a site-scoped membership covers (ignored when all sites).")
    is_active = models.BooleanField(
        default=True, db_default=True,
        help_text="Off: deactivated by the tenant's managers; the person's tokens and sessions were revoked and "
                  "the membership grants nothing until reactivated.")
    deactivated_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ActiveMembershipManager()
    # Every membership, deactivated ones too: the member list and reactivation only.
    everyone = ActiveMembershipQuerySet.as_manager()

    class Meta:
        ordering = ["tenant__name"]
        default_manager_name = "objects"
        base_manager_name = "everyone"
        constraints = [
            models.UniqueConstraint(fields=["tenant", "user"], name="membership_unique_per_tenant"),
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.tenant} ({self.role})"


class RetainedTable(models.TextChoices):
    """What retention deletes, per tenant. Defaults are platform settings (`TOCSIN_*_RETENTION_DAYS`)."""

    HEALTH = "health_samples", "Health samples"
    TELEMETRY = "telemetry", "Telemetry readings"
    SCANS = "scans", "Scans"
    ALERTS = "alerts", "Resolved alerts, with their timelines and deliveries"
    REPORTS = "reports", "Generated reports"
    AUDIT = "audit", "Audit log"


class RetentionPolicy(TenantOwnedModel):
    """A tenant's own retention period for one table, overriding the platform default."""

    public_id = PublicIdField(prefix="ret")
    table = models.CharField(max_length=20, choices=RetainedTable.choices)
    days = models.PositiveIntegerField(validators=[MinValueValidator(1), MaxValueValidator(36500)])
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "retention policies"
        constraints = [models.UniqueConstraint(fields=["tenant", "table"], name="retention_one_per_table")]

    def __str__(self) -> str:
        return f"{self.get_table_display()}: {self.days} days"


class LegalHold(TenantOwnedModel):
    """While active, retention deletes nothing of the tenant (no site) or of the one site."""

    public_id = PublicIdField(prefix="hold")
    site = models.ForeignKey(Site, null=True, blank=True, on_delete=models.PROTECT, related_name="legal_holds",
                             help_text="Empty: the whole tenant is held.")
    reason = models.CharField(max_length=300)
    placed_by = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    released_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["tenant"], condition=models.Q(released_at__isnull=True),
                                name="legal_hold_active")]

    def __str__(self) -> str:
        return f"Hold on {self.site or 'the whole tenant'}: {self.reason}"


class UserSecurity(models.Model):
    """Per person: the version every JWT and session of theirs carries. Bumping it
    (deactivation, a new password) refuses every token issued before on its next use."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True,
                                related_name="security")
    token_version = models.PositiveIntegerField(default=1)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "user security"

    def __str__(self) -> str:
        return f"token version {self.token_version}"


class Invitation(TenantOwnedModel):
    """A set-password link sent to someone invited to a tenant: only the SHA-256 of its
    secret is stored; it works once, until `expires_at`."""

    public_id = PublicIdField(prefix="inv")
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="invitations")
    membership = models.ForeignKey(Membership, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    invited_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Invitation of {self.email} to {self.tenant}"

    @property
    def state(self) -> str:
        from django.utils import timezone

        if self.used_at:
            return "accepted"
        if self.revoked_at:
            return "revoked"
        return "expired" if self.expires_at <= timezone.now() else "pending"
