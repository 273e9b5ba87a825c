"""What a batch report (scans, telemetry) answers, and how its columns reach PostgreSQL.

A batch travels as one array per column (unnest), each array passed as one text parameter:
binding values one by one cost more CPU than PostgreSQL spends inserting the rows.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class BatchResult:
    accepted: int
    duplicates: int
    rejected: list[dict]


def array_literal(values, *, text: bool = False) -> str:
    """A PostgreSQL array literal, passed as one text parameter: psycopg would otherwise
    quote a list element by element in Python. Text elements are quoted and escaped; the
    others (UUIDs, numbers, ISO timestamps, t/f) never contain anything that needs it."""
    if text:
        values = ['"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"' for value in values]
    return "{" + ",".join(values) + "}"
