"""Opaque secrets (setup tokens, API keys, legacy refresh credentials): generated here,
only their hashes stored.

All carry 256 bits of randomness, so a plain SHA-256 is enough to store them: a slow
password hash protects low-entropy human secrets, and would only slow every request.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

SETUP_TOKEN_PREFIX = "st_"  # noqa: S105 (a prefix, not a secret)
REFRESH_CREDENTIAL_PREFIX = "rt_"  # noqa: S105 (a prefix, not a secret)
API_KEY_PATTERN = re.compile(r"^tk_([a-z0-9]{12})_([A-Za-z0-9_-]{43})$")


def sha256_hex(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def new_setup_token() -> str:
    return SETUP_TOKEN_PREFIX + secrets.token_urlsafe(32)


def new_refresh_credential() -> str:
    return REFRESH_CREDENTIAL_PREFIX + secrets.token_urlsafe(32)


@dataclass(frozen=True)
class NewApiKey:
    prefix: str
    secret: str

    @property
    def full(self) -> str:
        return f"tk_{self.prefix}_{self.secret}"


def new_api_key() -> NewApiKey:
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    prefix = "".join(secrets.choice(alphabet) for _ in range(12))
    return NewApiKey(prefix=prefix, secret=secrets.token_urlsafe(32))


def split_api_key(presented: str) -> tuple[str, str] | None:
    match = API_KEY_PATTERN.match(presented or "")
    return (match.group(1), match.group(2)) if match else None


def secret_matches(secret: str, stored_hash: str) -> bool:
    """Constant-time comparison of a presented secret with a stored hash."""
    return hmac.compare_digest(sha256_hex(secret), stored_hash)
