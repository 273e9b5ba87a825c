"""Device and API-key authentication run through statements prepared per connection
(apps.common.rawsql); a session that lost them (a pooler's DISCARD ALL, a DEALLOCATE)
prepares them again instead of refusing every device."""

from __future__ import annotations

import pytest
from django.db import connection

from apps.devices.authentication import DEVICE_STATEMENT


def _prepared() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM pg_prepared_statements")
        return {name for (name,) in cursor.fetchall()}


def _authenticates_after_deallocate(device_client, site) -> None:
    _, client = device_client(site)
    assert client.get("/api/v1/devices/me/").status_code == 200
    assert DEVICE_STATEMENT.name in _prepared()
    with connection.cursor() as cursor:
        cursor.execute(f"DEALLOCATE {DEVICE_STATEMENT.name}")
    assert DEVICE_STATEMENT.name not in _prepared()

    assert client.get("/api/v1/devices/me/").status_code == 200
    assert DEVICE_STATEMENT.name in _prepared()


def test_device_authenticates_after_its_statement_was_deallocated_in_a_transaction(device_client, world_a):
    _authenticates_after_deallocate(device_client, world_a.site)


@pytest.mark.django_db(transaction=True)
def test_device_authenticates_after_its_statement_was_deallocated_in_autocommit(device_client, make_world):
    _authenticates_after_deallocate(device_client, make_world(name="Autocommit", slug="autocommit").site)
