"""A connection that finished the last request cleanly moments ago skips Django's health
check (a `SELECT 1` round trip before the first query of every request); after an error,
an idle spell, or with the window at 0, the check runs as configured."""

from __future__ import annotations

import pytest
from django.core.signals import request_finished, request_started
from django.db import connections

from apps.common import connection_trust
from apps.common.connection_trust import TrustFreshConnectionsMiddleware

pytestmark = pytest.mark.django_db(transaction=True)  # a real connection, as a request has


@pytest.fixture
def connection():
    """This test's connection wrapper itself (patched below), not the proxy."""
    return connections["default"]


@pytest.fixture
def health_checks(monkeypatch, connection):
    """How many times Django checked the connection."""
    monkeypatch.setattr(connection_trust, "_last_clean_finish", 0.0)
    checks = []
    usable = connection.is_usable
    monkeypatch.setattr(connection, "is_usable", lambda: checks.append(1) or usable())
    connection.ensure_connection()
    return checks


def _request(*, fail: bool = False) -> None:
    """As Django's handler serves one: request_started, the middleware chain, request_finished."""
    connection = connections["default"]

    def view(_request):
        with connection.cursor() as cursor:
            cursor.execute("SELECT 42")
        if fail:
            connection.errors_occurred = True  # as a failed query leaves it

    request_started.send(sender=None)
    TrustFreshConnectionsMiddleware(view)(object())
    request_finished.send(sender=None)


def test_back_to_back_requests_check_the_connection_once(health_checks):
    _request()
    assert len(health_checks) == 1  # nothing finished cleanly before it
    _request()
    _request()
    assert len(health_checks) == 1


def test_a_request_that_met_an_error_is_checked_before_the_connection_is_trusted(health_checks, monkeypatch,
                                                                                 connection):
    _request()
    _request(fail=True)
    assert len(health_checks) == 2  # Django checks it as that request ends (and closes it if dead)
    monkeypatch.setattr(connection, "is_usable", lambda: health_checks.append(1) or False)  # now it is dead
    _request()
    _request(fail=True)  # ...and is closed, so nothing is trusted
    assert connection.connection is None and connection_trust._last_clean_finish == 0.0


def test_after_the_window_the_check_runs_again(health_checks, monkeypatch):
    _request()
    monkeypatch.setattr(connection_trust, "_last_clean_finish", connection_trust._last_clean_finish - 60)
    _request()
    assert len(health_checks) == 2


def test_the_order_of_request_started_receivers_does_not_matter(health_checks):
    """Django's test client reconnects close_old_connections after each request (so it runs
    last); a receiver of ours would then have its flag cleared again."""
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_started.connect(close_old_connections)
    _request()
    _request()
    assert len(health_checks) == 1


def test_a_window_of_zero_checks_every_request(health_checks, settings):
    settings.TOCSIN_DB_TRUST_SECONDS = 0
    _request()
    _request()
    assert len(health_checks) == 2
