"""Spending a nonce: the database, not a check in Python, decides that it happens once."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.utils import timezone

from apps.responses.models import SpentNonce

_SPEND_SQL = """
INSERT INTO {table} (scope, nonce, spent_at) VALUES (%s, %s, now())
ON CONFLICT (scope, nonce) DO NOTHING
RETURNING id
"""


def spend(*, scope: str, nonce: str) -> bool:
    """True the first time; False when it was spent already (a replay, a reused link).
    Call inside the transaction that acts on it, so a failed action spends nothing."""
    with connection.cursor() as cursor:
        cursor.execute(_SPEND_SQL.format(table=SpentNonce._meta.db_table), [scope, nonce[:100]])
        return cursor.fetchone() is not None


def is_spent(*, scope: str, nonce: str) -> bool:
    return SpentNonce.objects.filter(scope=scope, nonce=nonce[:100]).exists()


def purge_spent_nonces(*, now=None) -> int:
    """Nonces older than anything they guard (the longest: an email link's life) are dropped."""
    now = now or timezone.now()
    keep = timedelta(hours=settings.TOCSIN_ACTION_LINK_MAX_AGE_HOURS + 1)
    deleted, _ = SpentNonce.objects.filter(spent_at__lt=now - keep).delete()
    return deleted
