"""The hash of an audit entry: SHA-256 over the previous hash and canonical JSON content."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

CHAINED_FIELDS = (
    "seq", "created_at", "actor_type", "actor_id", "actor_label", "action",
    "target_type", "target_id", "request_id", "details",
)


def canonical_json(value: Any) -> str:
    """Sorted keys, no whitespace, UTF-8: the same content always gives the same text."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def _normalise(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat(timespec="microseconds")
    return value


def entry_hash(*, prev_hash: str, tenant_public_id: str | None, content: dict[str, Any]) -> str:
    payload = {name: _normalise(content[name]) for name in CHAINED_FIELDS}
    payload["tenant"] = tenant_public_id
    digest = hashlib.sha256()
    digest.update(prev_hash.encode())
    digest.update(b"\n")
    digest.update(canonical_json(payload).encode())
    return digest.hexdigest()
