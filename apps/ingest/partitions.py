"""Telemetry is partitioned by month of its timestamp (PostgreSQL declarative partitioning).

Invariant: every reading lands in a partition: one per month (`ingest_telemetryreading_pYYYYMM`),
created ahead of time by the hourly retention task, and a default partition for anything
outside them (late history). Retention drops whole monthly partitions (no row-by-row
DELETE, no bloat); only the default partition is ever purged row by row.

Unique constraints include `ts`, as PostgreSQL requires of a partitioned table, and the
primary key in the database is (id, ts); Django keeps treating `id` as the key (an identity
value is unique on its own).
"""

from __future__ import annotations

from datetime import UTC, datetime

from django.db import connection, transaction

PARENT = "ingest_telemetryreading"
DEFAULT = f"{PARENT}_default"


def _month_start(moment: datetime, offset: int = 0) -> datetime:
    month_index = moment.year * 12 + moment.month - 1 + offset
    return datetime(month_index // 12, month_index % 12 + 1, 1, tzinfo=UTC)


def _name(start: datetime) -> str:
    return f"{PARENT}_p{start:%Y%m}"


def monthly_partitions() -> list[tuple[str, datetime]]:
    """(name, month start) of each monthly partition, oldest first."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT child.relname FROM pg_inherits JOIN pg_class parent ON parent.oid = inhparent "
                       "JOIN pg_class child ON child.oid = inhrelid WHERE parent.relname = %s", [PARENT])
        names = sorted(row[0] for row in cursor.fetchall() if row[0] != DEFAULT)
    return [(name, datetime.strptime(name[-6:], "%Y%m").replace(tzinfo=UTC)) for name in names]


def ensure_partitions(*, now: datetime | None = None, months_ahead: int = 2) -> list[str]:
    """This month's and the next ones' partitions; rows already in the default partition
    for such a month are moved into it (ATTACH refuses otherwise)."""
    now = now or datetime.now(UTC)
    existing = {name for name, _start in monthly_partitions()}
    created = []
    for offset in range(months_ahead + 1):
        start, end = _month_start(now, offset), _month_start(now, offset + 1)
        name = _name(start)
        if name in existing:
            continue
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"CREATE TABLE {name} (LIKE {PARENT} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)")
            cursor.execute(f"WITH moved AS (DELETE FROM {DEFAULT} WHERE ts >= %s AND ts < %s RETURNING *) "  # noqa: S608
                           f"INSERT INTO {name} SELECT * FROM moved", [start, end])
            cursor.execute(f"ALTER TABLE {PARENT} ATTACH PARTITION {name} FOR VALUES FROM (%s) TO (%s)",
                           [start, end])
        created.append(name)
    return created


def drop_expired_partitions(*, before: datetime) -> tuple[list[str], int]:
    """Drop monthly partitions entirely older than `before`; purge the default's old rows."""
    dropped = []
    for name, start in monthly_partitions():
        if _month_start(start, 1) <= before:
            with connection.cursor() as cursor:
                # Deferred foreign-key checks of rows written earlier in this transaction would
                # block the DROP; settle them first.
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                cursor.execute(f"DROP TABLE {name}")
            dropped.append(name)
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {DEFAULT} WHERE ts < %s", [before])  # noqa: S608
        purged = cursor.rowcount
    return dropped, purged
