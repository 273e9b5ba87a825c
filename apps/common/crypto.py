"""Encryption of secrets at rest (provider tokens, webhook secrets).

MultiFernet over keys from the environment (`TOCSIN_ENCRYPTION_KEYS`, comma-separated,
newest first): new values are encrypted with the first key, values under any listed key
still decrypt, and `manage.py rotate_encryption_keys` re-encrypts everything under the
first key so an old key can then be dropped.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings


class SecretUnreadable(Exception):
    """Encrypted with a key that is no longer configured."""


@lru_cache(maxsize=4)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key.encode()) for key in keys])


def _current() -> MultiFernet:
    return _fernet(tuple(settings.TOCSIN_ENCRYPTION_KEYS))


def encrypt_secret(plaintext: str) -> str:
    return _current().encrypt(plaintext.encode()).decode() if plaintext else ""


def decrypt_secret(ciphertext: str) -> str:
    if not ciphertext:
        return ""
    try:
        return _current().decrypt(ciphertext.encode()).decode()
    except InvalidToken as exc:
        raise SecretUnreadable("secret was encrypted with a key that is not configured") from exc


def rotate_secret(ciphertext: str) -> str:
    return _current().rotate(ciphertext.encode()).decode() if ciphertext else ""


# Apps above this one register what they encrypt (name, function returning how many values
# it re-encrypted), so `rotate_encryption_keys` covers them without importing them.
_rotators: dict[str, Callable[[], int]] = {}


def register_rotator(name: str, rotate: Callable[[], int]) -> None:
    _rotators[name] = rotate


def registered_rotators() -> dict[str, Callable[[], int]]:
    return dict(_rotators)
