"""The durable outbox: every outgoing item is committed to SQLite before anything is sent.

Why it is shaped like this:

* WAL with ``synchronous=FULL`` fsyncs every commit, so an item the agent has accepted
  survives SIGKILL or a power cut at any point.
* Each item carries an id generated *before* the first send (scan_id, message_id, dedup key)
  and a batch gets its ``batch_id`` committed before it goes out; a resend after a crash is
  byte-for-byte the same request, which the server absorbs as a duplicate.
* Rows are deleted only after the server acknowledged them; a request the server refused for
  good is *parked* with its reason, never retried forever and never silently dropped.

Each thread that writes (sender, inputs, monitor: all long-lived) gets its own SQLite
connection. Reads for status go through one shared connection under a lock, so the status
API, which answers every request on a new thread, never opens connections of its own.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from device_agent.private_files import PRIVATE_FILE_MODE

SCAN = "scan"
HEARTBEAT = "heartbeat"
TELEMETRY = "telemetry"
ALERT = "alert"
KINDS = (SCAN, HEARTBEAT, TELEMETRY, ALERT)
# Kibibytes of page cache per connection (SQLite's default is 2 MiB): the queue is read in
# order, so a small cache costs nothing and keeps the agent within its memory budget.
CACHE_KIB = 256
HEARTBEAT_COLLAPSE_AGE_SECONDS = 3600.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    item_id TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    occurred_at REAL NOT NULL,
    urgent INTEGER NOT NULL DEFAULT 0,
    payload TEXT NOT NULL,
    batch_id TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    parked_reason TEXT,
    parked_at REAL
);
CREATE INDEX IF NOT EXISTS outbox_waiting
    ON outbox (kind, occurred_at, seq) WHERE parked_reason IS NULL;
"""


@dataclass(frozen=True)
class NewItem:
    kind: str
    item_id: str
    occurred_at: float
    payload: dict[str, Any]
    urgent: bool = False


@dataclass(frozen=True)
class OutboxItem:
    seq: int
    item_id: str
    kind: str
    occurred_at: float
    payload: dict[str, Any]
    attempts: int


@dataclass(frozen=True)
class Batch:
    batch_id: str
    kind: str
    items: tuple[OutboxItem, ...]


@dataclass(frozen=True)
class KindSummary:
    """What the sender needs to decide whether a kind is due."""

    waiting: int
    oldest_at: float
    urgent: int
    has_open_batch: bool


@dataclass(frozen=True)
class OutboxCounts:
    fresh: int
    retrying: int
    parked: int


def _make_private(path: str) -> None:
    """The outbox holds what the device reports: 0600 from its first byte (SQLite would
    create it with the umask's 0644), and an older file is tightened."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, PRIVATE_FILE_MODE)
    os.close(fd)
    os.chmod(path, PRIVATE_FILE_MODE)


class Outbox:
    """A SQLite-backed queue of outgoing items, safe to use from several threads."""

    def __init__(self, path: str) -> None:
        self.path = path
        _make_private(path)
        self._local = threading.local()
        self._connection().executescript(_SCHEMA)
        self._reader = self._open(check_same_thread=False)
        self._reader_lock = threading.Lock()

    def _open(self, *, check_same_thread: bool = True) -> sqlite3.Connection:
        connection = sqlite3.connect(
            self.path, timeout=30.0, isolation_level=None, check_same_thread=check_same_thread
        )
        connection.execute("PRAGMA journal_mode=WAL")
        # SQLite gives -wal/-shm the database file's mode; files left by older agents may differ.
        for companion in (f"{self.path}-wal", f"{self.path}-shm"):
            if os.path.exists(companion):
                os.chmod(companion, PRIVATE_FILE_MODE)
        connection.execute("PRAGMA synchronous=FULL")
        connection.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
        return connection

    def _connection(self) -> sqlite3.Connection:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = self._local.connection = self._open()
        return connection

    def _read(self, sql: str, parameters: tuple = ()) -> list:
        with self._reader_lock:
            return self._reader.execute(sql, parameters).fetchall()

    def close(self) -> None:
        """Close the shared reader and this thread's connection (others close with their
        threads)."""
        with self._reader_lock:
            self._reader.close()
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            connection.close()
            self._local.connection = None

    def put(self, item: NewItem) -> None:
        self.put_many([item])

    def put_many(self, items: Iterable[NewItem]) -> None:
        """Commit items durably; an item id already present is kept as it was."""
        rows = [
            (i.item_id, i.kind, i.occurred_at, int(i.urgent), json.dumps(i.payload))
            for i in items
        ]
        with _transaction(self._connection()) as connection:
            connection.executemany(
                "INSERT OR IGNORE INTO outbox (item_id, kind, occurred_at, urgent, payload)"
                " VALUES (?, ?, ?, ?, ?)",
                rows,
            )

    def summaries(self) -> dict[str, KindSummary]:
        rows = self._read(
            "SELECT kind, COUNT(*), MIN(occurred_at), SUM(urgent), COUNT(batch_id)"
            " FROM outbox WHERE parked_reason IS NULL GROUP BY kind"
        )
        return {
            kind: KindSummary(waiting, oldest, urgent or 0, open_batches > 0)
            for kind, waiting, oldest, urgent, open_batches in rows
        }

    def take_batch(self, kind: str, limit: int) -> Batch | None:
        """The batch already on its way (same id, same items) or a new one of the oldest items.

        Urgent items of the kind go first; the rest in the order of their own timestamps.
        """
        with _transaction(self._connection()) as connection:
            open_batch = connection.execute(
                "SELECT batch_id FROM outbox WHERE kind = ? AND parked_reason IS NULL"
                " AND batch_id IS NOT NULL ORDER BY occurred_at, seq LIMIT 1",
                (kind,),
            ).fetchone()
            if open_batch:
                batch_id = open_batch[0]
            else:
                seqs = [
                    row[0]
                    for row in connection.execute(
                        "SELECT seq FROM outbox WHERE kind = ? AND parked_reason IS NULL"
                        " ORDER BY urgent DESC, occurred_at, seq LIMIT ?",
                        (kind, limit),
                    )
                ]
                if not seqs:
                    return None
                batch_id = str(uuid.uuid4())
                connection.executemany(
                    "UPDATE outbox SET batch_id = ? WHERE seq = ?", [(batch_id, s) for s in seqs]
                )
            rows = connection.execute(
                "SELECT seq, item_id, kind, occurred_at, payload, attempts FROM outbox"
                " WHERE batch_id = ? AND parked_reason IS NULL ORDER BY occurred_at, seq",
                (batch_id,),
            ).fetchall()
        items = tuple(
            OutboxItem(seq, item_id, k, occurred_at, json.loads(payload), attempts)
            for seq, item_id, k, occurred_at, payload, attempts in rows
        )
        return Batch(batch_id=batch_id, kind=kind, items=items)

    def split_batch(self, batch_id: str) -> None:
        """Make two batches (new ids, same order) of one the server found too large."""
        with _transaction(self._connection()) as connection:
            seqs = [
                row[0]
                for row in connection.execute(
                    "SELECT seq FROM outbox WHERE batch_id = ? ORDER BY occurred_at, seq",
                    (batch_id,),
                )
            ]
            half = len(seqs) // 2
            for part in (seqs[:half], seqs[half:]):
                part_id = str(uuid.uuid4())
                connection.executemany(
                    "UPDATE outbox SET batch_id = ? WHERE seq = ?", [(part_id, s) for s in part]
                )

    def ack(self, seqs: Sequence[int]) -> None:
        """Delete items the server has acknowledged (accepted or known duplicates)."""
        self._execute_many("DELETE FROM outbox WHERE seq = ?", [(s,) for s in seqs])

    def drop(self, seqs: Sequence[int]) -> None:
        """Delete items that policy says need not be kept (never scans or alerts)."""
        self.ack(seqs)

    def park(self, reasons: Sequence[tuple[int, str]], now: float) -> None:
        self._execute_many(
            "UPDATE outbox SET parked_reason = ?, parked_at = ? WHERE seq = ?",
            [(reason, now, seq) for seq, reason in reasons],
        )

    def record_failure(self, seqs: Sequence[int], error: str) -> None:
        self._execute_many(
            "UPDATE outbox SET attempts = attempts + 1, last_error = ? WHERE seq = ?",
            [(error, s) for s in seqs],
        )

    def collapse_stale_heartbeats(self, now: float) -> int:
        """Keep only the newest of the heartbeats older than an hour: they say nothing more."""
        with _transaction(self._connection()) as connection:
            cursor = connection.execute(
                "DELETE FROM outbox WHERE kind = ? AND parked_reason IS NULL AND occurred_at < ?"
                " AND seq <> (SELECT seq FROM outbox WHERE kind = ? AND parked_reason IS NULL"
                " AND occurred_at < ? ORDER BY occurred_at DESC, seq DESC LIMIT 1)",
                (HEARTBEAT, now - HEARTBEAT_COLLAPSE_AGE_SECONDS) * 2,
            )
            return cursor.rowcount

    def counts(self) -> OutboxCounts:
        fresh = retrying = parked = 0
        for is_parked, attempted, number in self._read(
            "SELECT parked_reason IS NOT NULL, attempts > 0, COUNT(*) FROM outbox"
            " GROUP BY parked_reason IS NOT NULL, attempts > 0"
        ):
            if is_parked:
                parked += number
            elif attempted:
                retrying += number
            else:
                fresh += number
        return OutboxCounts(fresh=fresh, retrying=retrying, parked=parked)

    def parked_items(self, limit: int) -> list[tuple[str, str, str]]:
        """(kind, item id, reason) of the newest parked items, for operators."""
        return self._read(
            "SELECT kind, item_id, parked_reason FROM outbox WHERE parked_reason IS NOT NULL"
            " ORDER BY parked_at DESC, seq DESC LIMIT ?",
            (limit,),
        )

    def _execute_many(self, sql: str, rows: list[tuple]) -> None:
        if rows:
            with _transaction(self._connection()) as connection:
                connection.executemany(sql, rows)


class _transaction:
    """``BEGIN IMMEDIATE`` ... ``COMMIT`` (rolled back on error) on an autocommit connection."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection = connection

    def __enter__(self) -> sqlite3.Connection:
        self._connection.execute("BEGIN IMMEDIATE")
        return self._connection

    def __exit__(self, exc_type: Any, exc: Any, traceback: Any) -> None:
        self._connection.execute("COMMIT" if exc_type is None else "ROLLBACK")
