"""The WSGI side of the stream: issuing tickets, and where a fresh board starts reading.

People, roles and tenants are resolved here, with the ORM, by the API's usual means
(session, JWT, API key; `TenantScopedViewMixin`); the stream process only redeems what
this side decided.
"""

from __future__ import annotations

from dataclasses import dataclass

import redis
from django.conf import settings
from rest_framework import status

from apps.common.errors import ApplicationError
from apps.realtime.publish import redis_client
from apps.realtime.stream.events import START, stream_key
from apps.realtime.stream.tickets import StreamGrant, issue_ticket
from apps.tenancy.models import Tenant
from apps.tenancy.scoping import Scope


class StreamUnavailable(ApplicationError):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    code = "unavailable"


@dataclass(frozen=True)
class IssuedTicket:
    ticket: str
    expires_in: int
    stream_url: str
    tenant: str


def stream_url() -> str:
    return f"{settings.TOCSIN_STREAM_PUBLIC_URL.rstrip('/')}/api/v1/stream/"


def principal_label(principal) -> str:
    """Who a stream connection belongs to, for its log lines: an id, never a name."""
    kind = "api_key" if getattr(principal, "is_tenant_principal", False) else "user"
    return f"{kind}:{principal.pk}"


def stream_ticket_issue(*, tenant: Tenant, role: str, principal, scope: Scope | None = None) -> IssuedTicket:
    """A ticket for the tenant's events; a site-scoped `scope` limits it to those sites'."""
    ttl = settings.TOCSIN_STREAM_TICKET_TTL_SECONDS
    sites = None
    if scope is not None and not scope.covers_tenant(tenant.pk):
        sites = tuple(sorted(scope.sites().filter(tenant=tenant).values_list("public_id", flat=True)))
    grant = StreamGrant(tenant=tenant.public_id, role=role, principal=principal_label(principal), sites=sites)
    try:
        ticket = issue_ticket(redis_client(), prefix=settings.TOCSIN_REALTIME_PREFIX, grant=grant, ttl_seconds=ttl)
    except (redis.RedisError, OSError) as exc:
        raise StreamUnavailable("The event stream is unavailable; retry shortly.") from exc
    return IssuedTicket(ticket=ticket, expires_in=ttl, stream_url=stream_url(), tenant=tenant.public_id)


def stream_tail(*, tenant: Tenant) -> str | None:
    """The newest event id of the tenant, read BEFORE the board's snapshot: resuming from it
    replays whatever changed while the page was being built. None when Redis is down."""
    try:
        newest = redis_client().xrevrange(stream_key(settings.TOCSIN_REALTIME_PREFIX, tenant.public_id), count=1)
    except (redis.RedisError, OSError):
        return None
    return newest[0][0].decode() if newest else START
