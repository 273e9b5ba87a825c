"""The hash of an audit entry: an HMAC, under a key held outside the database, over the
previous entry's hash and every column of the entry that carries meaning.

Keyed, because anyone with database access can run a public algorithm: with plain SHA-256
an attacker could edit an entry and recompute every later hash, and verification would pass.
Without the key they cannot produce a hash that verifies. Every column is covered
(`public_id`, the tenant, `prev_hash` and the key id included) except the surrogate primary
key, which is assigned by the database after the hash is computed and carries no meaning:
entries are ordered and linked by `seq` and `prev_hash`.

Keys come from `TOCSIN_AUDIT_KEYS` (`id:secret`, comma-separated, newest first). New entries
and anchors are keyed with the first; each records its key id, so after a rotation older
entries still verify as long as their key stays listed.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

CHAINED_FIELDS = (
    "public_id", "seq", "created_at", "actor_type", "actor_id", "actor_label", "action",
    "target_type", "target_id", "request_id", "details", "prev_hash", "key_id",
)


class UnknownAuditKey(Exception):
    """An entry or anchor names a key id that is no longer configured."""


def canonical_json(value: Any) -> str:
    """Sorted keys, no whitespace, UTF-8: the same content always gives the same text."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def _normalise(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat(timespec="microseconds")
    return value


def audit_keys() -> dict[str, bytes]:
    """Key id → secret, in the order configured (the first is the current key)."""
    keys: dict[str, bytes] = {}
    for item in settings.TOCSIN_AUDIT_KEYS:
        key_id, sep, secret = item.partition(":")
        if not sep or not key_id or len(key_id) > 16 or len(secret) < 32:
            raise ImproperlyConfigured("TOCSIN_AUDIT_KEYS entries are 'id:secret' (id up to 16 characters, "
                                       "secret at least 32)")
        keys[key_id] = secret.encode()
    if not keys:
        raise ImproperlyConfigured("TOCSIN_AUDIT_KEYS is empty")
    return keys


def current_key_id() -> str:
    return next(iter(audit_keys()))


def keyed_digest(*, key_id: str, message: str) -> str:
    try:
        secret = audit_keys()[key_id]
    except KeyError as exc:
        raise UnknownAuditKey(key_id) from exc
    return hmac.new(secret, message.encode(), hashlib.sha256).hexdigest()


def entry_hash(*, tenant_public_id: str | None, content: dict[str, Any]) -> str:
    payload = {name: _normalise(content[name]) for name in CHAINED_FIELDS}
    payload["tenant"] = tenant_public_id
    return keyed_digest(key_id=content["key_id"], message=canonical_json(payload))


def anchor_signature(*, key_id: str, tenant_public_id: str | None, kind: str, seq: int, entry_hash: str,
                     created_at: datetime) -> str:
    """What makes an anchor a checkpoint: only the holder of the audit key can write one."""
    payload = {"tenant": tenant_public_id, "kind": kind, "seq": seq, "hash": entry_hash,
               "created_at": _normalise(created_at), "key_id": key_id}
    return keyed_digest(key_id=key_id, message="anchor\n" + canonical_json(payload))

