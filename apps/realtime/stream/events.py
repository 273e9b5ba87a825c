"""The wire format of live events, shared by the publishers and the stream process.

Every event lives in its tenant's Redis stream (`<prefix>:events:<tenant public id>`),
which is what makes resuming possible, and is announced on ONE pub/sub channel
(`<prefix>:events`), so each stream process holds a single subscription whatever the
number of tenants and clients.

Appending, trimming and announcing happen in one Lua script: one round trip, and no
window in which an event is in the stream but was never announced (or the reverse).
The announcement is `tenant|entry id|type|body`, so the stream process can frame it for
every client without parsing JSON.

Nothing here imports Django: the stream process and the benchmark use it as is.
"""

from __future__ import annotations

import json
import re

import redis

ENTRY_ID = re.compile(r"^(\d{1,20})-(\d{1,20})$")
# "0-0" resumes from the very beginning of a stream (a board rendered while it was empty).
START = "0-0"

_APPEND_SCRIPT = """
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'type', ARGV[5], 'body', ARGV[6])
local now = redis.call('TIME')
local cutoff = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000) - tonumber(ARGV[2])
redis.call('XTRIM', KEYS[1], 'MINID', string.format('%d-0', cutoff))
redis.call('EXPIRE', KEYS[1], ARGV[3])
redis.call('PUBLISH', ARGV[4], ARGV[7] .. '|' .. id .. '|' .. ARGV[5] .. '|' .. ARGV[6])
return id
"""


def stream_key(prefix: str, tenant: str) -> str:
    return f"{prefix}:events:{tenant}"


def channel_name(prefix: str) -> str:
    return f"{prefix}:events"


def parse_entry_id(value: str | bytes) -> tuple[int, int] | None:
    """`"1732230000000-3"` → `(1732230000000, 3)`, comparable; None when malformed."""
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace")
    match = ENTRY_ID.match(value)
    return (int(match.group(1)), int(match.group(2))) if match else None


def encode_body(*, event_type: str, tenant: str, site: str | None, data: dict) -> str:
    """The event without its id (Redis assigns the id when appending)."""
    return json.dumps({"type": event_type, "tenant": tenant, "site": site, "data": data},
                      separators=(",", ":"), default=str)


# The "site" of stream control events (`stream.*`): every client receives them.
EVERY_SITE = "*"


def event_site(event_type: bytes, body: bytes) -> str | None:
    """The public id of the site an event is about (None: no site, e.g. a tenant-wide alert,
    or an unreadable body). Parsed only for site-scoped clients: whole-tenant ones never
    pay for it."""
    if event_type.startswith(b"stream."):
        return EVERY_SITE
    try:
        site = json.loads(body).get("site")
    except (ValueError, AttributeError):
        return None
    return site if isinstance(site, str) and site != EVERY_SITE else None


def event_visible(event_type: bytes, body: bytes, sites: frozenset[str]) -> bool:
    """Whether a client limited to `sites` may see an event: control events always, others
    only when of one of those sites; an event of no site is not theirs."""
    site = event_site(event_type, body)
    return site == EVERY_SITE or site in sites


def sse_frame(entry_id: bytes, event_type: bytes, body: bytes) -> bytes:
    """One Server-Sent Event; the JSON carries the id too, for clients that only read data."""
    data = b'{"id":"' + entry_id + b'",' + body[1:]
    return b"id: " + entry_id + b"\nevent: " + event_type + b"\ndata: " + data + b"\n\n"


class EventLog:
    """Appends events for the publishers (synchronous redis-py: WSGI and Celery side)."""

    def __init__(self, client: redis.Redis, *, prefix: str, maxlen: int, retention_seconds: int):
        self._append = client.register_script(_APPEND_SCRIPT)
        self.prefix = prefix
        self.maxlen = maxlen
        self.retention_seconds = retention_seconds

    def append(self, *, tenant: str, event_type: str, site: str | None, data: dict) -> str:
        body = encode_body(event_type=event_type, tenant=tenant, site=site, data=data)
        entry_id = self._append(
            keys=[stream_key(self.prefix, tenant)],
            args=[self.maxlen, self.retention_seconds * 1000, self.retention_seconds, channel_name(self.prefix),
                  event_type, body, tenant],
        )
        return entry_id.decode() if isinstance(entry_id, bytes) else entry_id
