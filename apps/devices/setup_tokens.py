"""Setup tokens: issued by staff for a site, shown once, consumed by enrolment."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from apps.audit.services import Actor, audit_record
from apps.common.errors import ApplicationError
from apps.devices import qr
from apps.devices.credentials import new_setup_token, sha256_hex
from apps.devices.locations import clean_location_label
from apps.devices.models import SetupToken
from apps.tenancy.models import Site

MAX_TTL = timedelta(days=30)
MAX_USES = 1000


@dataclass(frozen=True)
class IssuedSetupToken:
    """The one moment the raw token exists: returned to its creator, never stored."""

    record: SetupToken
    token: str

    @property
    def qr_payload(self) -> str:
        return qr.setup_payload(token=self.token, location_id=self.record.site.location_id,
                                location_label=self.record.location_label)


def setup_token_create(*, site: Site, actor: Actor, created_by=None, max_uses: int = 1,
                       ttl: timedelta = timedelta(hours=24), label: str = "",
                       location_label: str = "") -> IssuedSetupToken:
    """`location_label` (Room 305) goes into the QR code and names the device it enrols."""
    location_label = clean_location_label(location_label)
    if not 1 <= max_uses <= MAX_USES:
        raise ApplicationError(f"uses must be between 1 and {MAX_USES}.", fields={"max_uses": ["out of range"]})
    if not timedelta(minutes=1) <= ttl <= MAX_TTL:
        raise ApplicationError("ttl must be between 1 minute and 30 days.", fields={"ttl": ["out of range"]})
    if site.archived_at is not None:
        raise ApplicationError("This site is archived (deprovisioned): no device can enrol there.",
                               fields={"site": ["archived"]})
    token = new_setup_token()
    with transaction.atomic():
        record = SetupToken.objects.create(
            tenant=site.tenant, site=site, label=label, location_label=location_label,
            token_hash=sha256_hex(token), hint=token[:8],
            max_uses=max_uses, expires_at=timezone.now() + ttl, created_by=created_by,
        )
        audit_record(tenant=site.tenant, actor=actor, action="setup_token.created", target_type="setup_token",
                     target_id=record.public_id,
                     details={"site": site.public_id, "max_uses": max_uses, "expires_at": record.expires_at})
    return IssuedSetupToken(record=record, token=token)


def setup_token_revoke(*, setup_token: SetupToken, actor: Actor) -> SetupToken:
    with transaction.atomic():
        updated = SetupToken.objects.filter(pk=setup_token.pk, revoked_at__isnull=True).update(
            revoked_at=timezone.now())
        if updated:
            audit_record(tenant=setup_token.tenant, actor=actor, action="setup_token.revoked",
                         target_type="setup_token", target_id=setup_token.public_id)
    setup_token.refresh_from_db()
    return setup_token


def setup_token_find_usable(*, token: str) -> SetupToken | None:
    record = SetupToken.objects.select_related("site", "tenant").filter(token_hash=sha256_hex(token)).order_by().first()
    return record if record is not None and record.is_usable else None


def setup_token_consume(*, setup_token: SetupToken) -> bool:
    """Take one use, decided by the database: concurrent enrolments can't overspend it."""
    return bool(
        SetupToken.objects.filter(
            pk=setup_token.pk, revoked_at__isnull=True, expires_at__gt=timezone.now(),
            uses__lt=F("max_uses"),
        ).update(uses=F("uses") + 1)
    )
