"""Skip the database health check for a connection that finished its last unit of work
cleanly moments ago.

Invariant: a connection is trusted only if it is open, had no error, and the last request
(or task) of this process finished with every connection clean less than
`TOCSIN_DB_TRUST_SECONDS` ago; otherwise Django's `CONN_HEALTH_CHECKS` runs as configured.

Why: with health checks on, Django makes the first query of every request (Celery's fixup:
of every task) a `SELECT 1` round trip first, to find connections a restarted PostgreSQL
dropped. A connection used cleanly a second ago is alive with near certainty; the check
then costs a round trip on every new alert and every delivery for nothing. The price is
bounded: should PostgreSQL restart inside that window, the next request of this process
meets the dead connection and answers 503 with Retry-After (apps.common.middleware), and
the one after it checks again, since that request ended with an error.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.db import connections

_last_clean_finish = 0.0


def note_finish() -> None:
    """Call when a request or task is over: remembers whether every connection is clean."""
    global _last_clean_finish
    clean = all(not connection.errors_occurred for connection in connections.all(initialized_only=True))
    _last_clean_finish = time.monotonic() if clean else 0.0


def trust_fresh_connections() -> None:
    """Call when a request or task starts, after Django's own `close_old_connections`
    (for requests: `TrustFreshConnectionsMiddleware`)."""
    if time.monotonic() - _last_clean_finish > settings.TOCSIN_DB_TRUST_SECONDS:
        return
    for connection in connections.all(initialized_only=True):
        if connection.connection is not None and not connection.errors_occurred:
            connection.health_check_done = True  # Django's own flag: "checked in this request"


class TrustFreshConnectionsMiddleware:
    """First in MIDDLEWARE: it runs after every `request_started` receiver, Django's
    `close_old_connections` among them (which clears the flag this sets), whatever order
    they were connected in."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        trust_fresh_connections()
        return self.get_response(request)


def on_request_finished(**_kwargs) -> None:
    note_finish()
