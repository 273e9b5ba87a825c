"""The chain's append as plain statements: lock and read the head, then insert the entry.

Invariant: the head is read after the tenant's chain lock is held, in the same transaction
as the insert that extends it, so no two entries ever claim one place (and the unique
(tenant, seq) constraint would refuse one that did).

Why plain SQL: every audited write (every new alert among them) appends here; the ORM's
compilation of the head query and of the insert cost more than PostgreSQL running them.
"""

from __future__ import annotations

import json

from django.db import connection

from apps.audit.models import AuditEntry
from apps.common.rawsql import PreparedStatement
from apps.tenancy.models import Tenant

_TABLE = AuditEntry._meta.db_table
LOCK_NAMESPACE = 0x70C5  # keeps our advisory locks apart from anyone else's
_LOCK_SQL = "SELECT pg_advisory_xact_lock(%s, %s)"
_HEAD_SQL = {
    True: f"SELECT seq, hash FROM {_TABLE} WHERE tenant_id = %s ORDER BY seq DESC LIMIT 1",  # noqa: S608
    False: f"SELECT seq, hash FROM {_TABLE} WHERE tenant_id IS NULL ORDER BY seq DESC LIMIT 1",  # noqa: S608
}
_COLUMNS = ("public_id", "tenant_id", "seq", "created_at", "actor_type", "actor_id", "actor_label", "action",
            "target_type", "target_id", "request_id", "details", "prev_hash", "key_id", "hash")
_TYPES = ("varchar", "bigint", "bigint", "timestamptz", "varchar", "varchar", "varchar", "varchar", "varchar",
          "varchar", "varchar", "jsonb", "varchar", "varchar", "varchar")
INSERT_STATEMENT = PreparedStatement(
    "tocsin_audit_append",
    lambda: (f"INSERT INTO {_TABLE} ({', '.join(_COLUMNS)}) "  # noqa: S608
             f"VALUES ({', '.join(f'${n}' for n in range(1, len(_COLUMNS) + 1))}) RETURNING id"),
    argument_types=", ".join(_TYPES))


def _lock_params(tenant: Tenant | None) -> list[int]:
    return [LOCK_NAMESPACE, tenant.pk if tenant else 0]


def lock_chain(tenant: Tenant | None) -> None:
    """Serialise writers of one tenant's chain for the rest of the transaction.

    A transaction-scoped advisory lock rather than a row lock on the tenant, so audit
    writes never block edits of the tenant itself.
    """
    with connection.cursor() as cursor:
        cursor.execute(_LOCK_SQL, _lock_params(tenant))


def lock_and_read_head(tenant: Tenant | None) -> tuple[int, str] | None:
    """`lock_chain`, then the chain's last (seq, hash), in one round trip.

    The two statements go as one simple query; PostgreSQL runs them in turn and, under READ
    COMMITTED, takes the second one's snapshot after the first has returned, that is after
    the lock is held: the head read is the one the previous holder committed. (Within a
    single statement the snapshot would predate the lock, so they are never merged into one.)
    """
    params = _lock_params(tenant) + ([tenant.pk] if tenant else [])
    with connection.cursor() as cursor:
        cursor.execute(f"{_LOCK_SQL}; {_HEAD_SQL[tenant is not None]}", params)
        cursor.nextset()
        return cursor.fetchone()


def insert_entry(entry: AuditEntry) -> None:
    """Store `entry` as built (hash included) and give it its primary key."""
    values = [getattr(entry, column) for column in _COLUMNS]
    values[_COLUMNS.index("details")] = json.dumps(entry.details)
    (entry.pk,) = INSERT_STATEMENT.fetchone(*values)
    entry._state.adding = False
    entry._state.db = connection.alias
