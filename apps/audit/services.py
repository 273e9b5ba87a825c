"""Writing to the audit log: one function, `audit_record`, used by every app."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from apps.audit.chain import CHAINED_FIELDS, entry_hash
from apps.audit.models import GENESIS_HASH, ActorType, AuditEntry
from apps.common.request_context import get_request_id
from apps.tenancy.models import Tenant

logger = logging.getLogger(__name__)

# Keys that must never reach the log, whatever a caller passes in `details`.
FORBIDDEN_DETAIL_KEYS = frozenset({
    "password", "token", "secret", "setup_token", "access", "refresh", "api_key", "signature",
    "private_key", "document_number", "date_of_birth", "first_name", "family_name", "full_name",
    "middle_name", "address", "street",
})

_ADVISORY_LOCK_NAMESPACE = 0x70C5  # keeps our advisory locks apart from anyone else's


@dataclass(frozen=True)
class Actor:
    type: str
    id: str = ""
    label: str = ""

    @classmethod
    def system(cls, label: str = "system") -> Actor:
        return cls(type=ActorType.SYSTEM, label=label)

    @classmethod
    def for_principal(cls, principal) -> Actor:
        """Whoever `request.user` is: a person, a device or an API key."""
        api_key = getattr(principal, "api_key", None)
        if api_key is not None:
            return cls(type=ActorType.API_KEY, id=api_key.public_id, label=api_key.name)
        device = getattr(principal, "device", None)
        if device is not None:
            return cls(type=ActorType.DEVICE, id=device.public_id, label=device.name or device.hardware_id)
        return cls.for_user(principal)

    @classmethod
    def for_user(cls, user) -> Actor:
        if user is None or not getattr(user, "is_authenticated", False):
            return cls.system()
        return cls(type=ActorType.USER, id=str(user.pk), label=user.get_username())


def _scrub(details: dict[str, Any]) -> dict[str, Any]:
    """Refuse secret-looking keys; store datetimes as ISO text so the hash is stable."""
    clean = {}
    for key, value in details.items():
        if key.lower() in FORBIDDEN_DETAIL_KEYS:
            raise ValueError(f"audit details may not carry '{key}'")
        if isinstance(value, dict):
            value = _scrub(value)
        elif isinstance(value, datetime):
            value = value.isoformat()
        clean[key] = value
    return clean


def _lock_chain(tenant: Tenant | None) -> None:
    """Serialise writers of one tenant's chain for the rest of the transaction.

    A transaction-scoped advisory lock rather than a row lock on the tenant, so audit
    writes never block edits of the tenant itself.
    """
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)",
                       [_ADVISORY_LOCK_NAMESPACE, tenant.pk if tenant else 0])


def audit_record(
    *,
    tenant: Tenant | None,
    actor: Actor,
    action: str,
    target_type: str = "",
    target_id: str = "",
    details: dict[str, Any] | None = None,
) -> AuditEntry:
    """Append one entry to the tenant's chain, inside the caller's transaction if any."""
    details = _scrub(details or {})
    with transaction.atomic():
        _lock_chain(tenant)
        last = (AuditEntry.objects.filter(tenant=tenant).order_by("-seq")
                .values("seq", "hash").first())
        entry = AuditEntry(
            tenant=tenant,
            seq=(last["seq"] + 1) if last else 1,
            created_at=timezone.now(),
            actor_type=actor.type,
            actor_id=actor.id[:64],
            actor_label=actor.label[:150],
            action=action,
            target_type=target_type,
            target_id=target_id,
            request_id=get_request_id() or "",
            details=details,
            prev_hash=last["hash"] if last else GENESIS_HASH,
        )
        entry.hash = entry_hash(
            prev_hash=entry.prev_hash,
            tenant_public_id=tenant.public_id if tenant else None,
            content={name: getattr(entry, name) for name in CHAINED_FIELDS},
        )
        entry.save(force_insert=True)
    return entry
