"""Stream tickets: short-lived, single-use credentials for opening one event stream.

`EventSource` cannot set headers, so a JWT would have to travel in the URL, where it
would outlive the connection in proxy logs and browser history. A ticket is worth one
connection for a few seconds instead: the API (WSGI side, where people and tenants are
resolved with the ORM) stores what the stream needs to know, and the stream process
consumes it with GETDEL, without touching the database.

Redis holds only the SHA-256 of a ticket, so a key listing or MONITOR shows nothing usable.

Nothing here imports Django: the stream process and the benchmark use it as is.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from dataclasses import asdict, dataclass

import redis
import redis.asyncio as aioredis

TICKET_SHAPE = re.compile(r"^[A-Za-z0-9_-]{32,64}$")


@dataclass(frozen=True)
class StreamGrant:
    """What a ticket entitles its bearer to: one tenant's events, or only those of some of
    its sites (`sites`: their public ids) for a site-scoped member."""

    tenant: str
    role: str
    principal: str
    sites: tuple[str, ...] | None = None


def _key(prefix: str, ticket: str) -> str:
    return f"{prefix}:stream-ticket:{hashlib.sha256(ticket.encode()).hexdigest()}"


def issue_ticket(client: redis.Redis, *, prefix: str, grant: StreamGrant, ttl_seconds: int) -> str:
    ticket = secrets.token_urlsafe(32)
    client.set(_key(prefix, ticket), json.dumps(asdict(grant)), ex=ttl_seconds, nx=True)
    return ticket


async def redeem_ticket(client: aioredis.Redis, *, prefix: str, ticket: str | None) -> StreamGrant | None:
    """The grant of a valid ticket, consumed; None for a missing, malformed, used or expired one."""
    if not ticket or not TICKET_SHAPE.match(ticket):
        return None
    raw = await client.getdel(_key(prefix, ticket))
    if raw is None:
        return None
    try:
        fields = json.loads(raw)
        sites = fields.get("sites")
        grant = StreamGrant(tenant=str(fields["tenant"]), role=str(fields["role"]),
                            principal=str(fields["principal"]),
                            sites=None if sites is None else tuple(str(site) for site in sites))
    except (ValueError, KeyError, TypeError):
        return None
    return grant if grant.tenant else None
