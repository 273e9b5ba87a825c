"""Prepared statements inside a transaction: one round trip per EXECUTE, and a failed one
(a lost statement, a real error) leaves the caller's transaction usable."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction
from django.test.utils import CaptureQueriesContext

from apps.common.rawsql import PreparedStatement

pytestmark = pytest.mark.django_db

INVERSE = PreparedStatement("tocsin_test_inverse", lambda: "SELECT 100 / $1", argument_types="integer")


def _still_usable() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        return cursor.fetchone() == (1,)


def test_an_execute_in_a_transaction_is_one_round_trip():
    with transaction.atomic():
        assert INVERSE.fetchone(4) == (25,)  # prepared on first use
        with CaptureQueriesContext(connection) as queries:
            assert INVERSE.fetchone(5) == (20,)
    assert len(queries.captured_queries) == 1
    assert queries.captured_queries[0]["sql"].startswith("SAVEPOINT")


def test_a_failing_execute_leaves_the_transaction_usable():
    with transaction.atomic():
        with pytest.raises(DatabaseError):
            INVERSE.fetchone(0)  # division by zero
        assert _still_usable()
        assert INVERSE.fetchone(10) == (10,)


def test_a_statement_lost_mid_transaction_is_prepared_again():
    with transaction.atomic():
        assert INVERSE.fetchone(2) == (50,)
        with connection.cursor() as cursor:
            cursor.execute(f"DEALLOCATE {INVERSE.name}")
        assert INVERSE.fetchone(20) == (5,)
        assert _still_usable()


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_no_savepoint_is_taken():
    INVERSE.fetchone(1)
    with CaptureQueriesContext(connection) as queries:
        assert INVERSE.fetchone(50) == (2,)
    assert [query["sql"].split("(")[0] for query in queries.captured_queries] == [f"EXECUTE {INVERSE.name}"]
