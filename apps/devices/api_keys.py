"""API keys for integrations: created by tenant admins, shown once, revocable."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from apps.audit.services import Actor, audit_record
from apps.common.errors import ApplicationError
from apps.devices.credentials import new_api_key, sha256_hex
from apps.devices.models import ApiKey, ApiKeyScope, ApiKeyTier
from apps.tenancy.models import Tenant


@dataclass(frozen=True)
class IssuedApiKey:
    record: ApiKey
    key: str


def api_key_create(*, tenant: Tenant, name: str, scopes: list[str], actor: Actor, created_by=None,
                   tier: int = ApiKeyTier.STANDARD, expires_at: datetime | None = None) -> IssuedApiKey:
    unknown = set(scopes) - set(ApiKeyScope.values)
    if not scopes or unknown:
        raise ApplicationError("Choose scopes from: " + ", ".join(ApiKeyScope.values), fields={"scopes": ["invalid"]})
    if tier not in ApiKeyTier.values:
        raise ApplicationError("Unknown tier.", fields={"tier": ["invalid"]})
    if expires_at is not None and expires_at <= timezone.now():
        raise ApplicationError("expires_at must be in the future.", fields={"expires_at": ["in the past"]})
    generated = new_api_key()
    with transaction.atomic():
        record = ApiKey.objects.create(
            tenant=tenant, name=name, prefix=generated.prefix, key_hash=sha256_hex(generated.secret),
            scopes=sorted(set(scopes)), tier=tier, expires_at=expires_at, created_by=created_by,
        )
        audit_record(tenant=tenant, actor=actor, action="api_key.created", target_type="api_key",
                     target_id=record.public_id, details={"scopes": record.scopes, "tier": tier})
    return IssuedApiKey(record=record, key=generated.full)


def api_key_revoke(*, api_key: ApiKey, actor: Actor) -> ApiKey:
    with transaction.atomic():
        if ApiKey.objects.filter(pk=api_key.pk, revoked_at__isnull=True).update(revoked_at=timezone.now()):
            audit_record(tenant=api_key.tenant, actor=actor, action="api_key.revoked", target_type="api_key",
                         target_id=api_key.public_id)
    api_key.refresh_from_db()
    return api_key
