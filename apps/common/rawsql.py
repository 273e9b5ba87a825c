"""Raw SQL on hot paths: model instances from raw rows, and statements prepared per connection.

Invariant: a row selected with `select_columns(model, alias)` becomes, through `hydrate`,
the instance the ORM would have built (same attributes, same converted values), and a
`PreparedStatement` runs on whichever connection the request has: prepared there on its
first use, and prepared again when the server says it no longer has it.

Why: on the hottest paths (a device authenticating, an alert raised, a delivery claimed)
the ORM's query compiler, and for joins PostgreSQL's planner, cost more than the query.

Prepared statements live as long as their session (a rollback does not undo PREPARE),
so each connection object is tracked and a new one prepares again. A session can still
lose them behind our back (a pooler's `DISCARD ALL`, a `DEALLOCATE`): EXECUTE then fails
with "prepared statement does not exist" (SQLSTATE 26000), and the statement is prepared
again and run once more. Inside a transaction that failure would abort the transaction,
so there the EXECUTE runs under a savepoint, sent with it as one simple query
(`SAVEPOINT; EXECUTE; RELEASE`: one round trip, not three); outside one (the request
path: no ATOMIC_REQUESTS) it costs nothing. Not for a transaction-pooling PgBouncer in front.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Sequence
from contextlib import suppress

from django.db import DEFAULT_DB_ALIAS, DatabaseError, connection, models

# SQLSTATE invalid_sql_statement_name: "prepared statement ... does not exist".
_STATEMENT_MISSING = "26000"

# --- model instances from raw rows ------------------------------------------------------------

_hydration: dict[type[models.Model], tuple[list[str], list[tuple[int, models.Expression, list]]]] = {}


def _hydration_spec(model: type[models.Model]):
    spec = _hydration.get(model)
    if spec is None:
        fields = model._meta.concrete_fields
        converters = []
        for index, field in enumerate(fields):
            found = field.get_db_converters(connection)
            if found:
                converters.append((index, field.get_col(model._meta.db_table), found))
        spec = _hydration[model] = ([field.attname for field in fields], converters)
    return spec


def select_columns(model: type[models.Model], alias: str) -> str:
    """`alias."col", ...` for every concrete field, in the order `hydrate` expects."""
    return ", ".join(f'{alias}."{field.column}"' for field in model._meta.concrete_fields)


def hydrate(model: type[models.Model], values: Sequence):
    """A model instance from one row of `select_columns(model, ...)`, converted as the ORM
    would convert it (JSON columns arrive as text from psycopg, for instance)."""
    attnames, converters = _hydration_spec(model)
    if converters:
        values = list(values)
        for index, expression, functions in converters:
            value = values[index]
            for function in functions:
                value = function(value, expression, connection)
            values[index] = value
    return model.from_db(DEFAULT_DB_ALIAS, attnames, values)


# --- prepared statements ----------------------------------------------------------------------

# The savepoint an EXECUTE inside a transaction runs under; undone when the EXECUTE failed,
# so the caller's transaction goes on (or fails with the original error, not an aborted one).
_SAVEPOINT = "tocsin_prepared"
_SAVEPOINT_UNDO = f"ROLLBACK TO SAVEPOINT {_SAVEPOINT}; RELEASE SAVEPOINT {_SAVEPOINT}"

# Names prepared on each live connection object (gone with the connection).
_prepared_on: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _statement_missing(exc: DatabaseError) -> bool:
    return getattr(exc.__cause__, "sqlstate", None) == _STATEMENT_MISSING


class PreparedStatement:
    """`name(argument_types) AS sql()`; `sql` is called once per connection that prepares it
    (so it may read the models' columns lazily)."""

    def __init__(self, name: str, sql: Callable[[], str], *, argument_types: str = "varchar"):
        self.name = name
        self.sql = sql
        self.argument_types = argument_types

    def fetchone(self, *arguments):
        """One row of the statement's result for `arguments`, or None."""
        execute = f"EXECUTE {self.name}({', '.join(['%s'] * len(arguments))})"
        guarded = connection.in_atomic_block
        with connection.cursor() as cursor:
            prepared = _prepared_on.setdefault(connection.connection, set())
            if self.name not in prepared:
                self._prepare(cursor, prepared)
            try:
                self._execute(cursor, execute, arguments, guarded=guarded)
            except DatabaseError as exc:
                if guarded:  # the caller's transaction goes on as before this call
                    with suppress(DatabaseError):  # a lost connection: the original error says it
                        cursor.execute(_SAVEPOINT_UNDO)
                if not _statement_missing(exc):
                    raise
                prepared.discard(self.name)
                self._prepare(cursor, prepared)
                cursor.execute(execute, arguments)
            return cursor.fetchone()

    @staticmethod
    def _execute(cursor, execute: str, arguments: tuple, *, guarded: bool) -> None:
        if not guarded:
            cursor.execute(execute, arguments)
            return
        # Three statements, one round trip; the cursor then moves on to the EXECUTE's rows.
        cursor.execute(f"SAVEPOINT {_SAVEPOINT}; {execute}; RELEASE SAVEPOINT {_SAVEPOINT}", arguments)
        cursor.nextset()

    def _prepare(self, cursor, prepared: set) -> None:
        cursor.execute(f"PREPARE {self.name}({self.argument_types}) AS {self.sql()}")
        prepared.add(self.name)
