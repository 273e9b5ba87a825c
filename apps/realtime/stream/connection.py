"""One client's event stream: catch up from the tenant's Redis stream, then relay live events.

The client is registered with the hub before anything is read from Redis and every
event carries its stream entry id, so whatever arrives both by catching up and live is
sent once, in order: nothing published while the client was away or while it connects
is lost. A client that asks to resume from an entry the stream no longer holds (older
than the retention window, or Redis lost its data) gets a `stream.reset` event first: its
state may be incomplete and must be reloaded.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import redis.asyncio as aioredis

from apps.realtime.stream.events import START, event_visible, parse_entry_id, sse_frame, stream_key
from apps.realtime.stream.hub import WAKE, Subscriber

CATCH_UP_CHUNK = 500
RESET_FRAME = b'event: stream.reset\ndata: {"type":"stream.reset","data":{"reason":"history_unavailable"}}\n\n'
KEEPALIVE_FRAME = b": keep-alive\n\n"

Position = tuple[int, int]
_BEGINNING: Position = (0, 0)


@dataclass
class StreamOutcome:
    reason: str = "client_closed"
    events: int = 0
    replayed: int = 0
    reset: bool = False


def _format(position: Position) -> str:
    return f"{position[0]}-{position[1]}"


class EventStream:
    def __init__(self, *, client: aioredis.Redis, subscriber: Subscriber, prefix: str, send,
                 keepalive_seconds: float, max_seconds: float):
        self._client = client
        self._subscriber = subscriber
        self._key = stream_key(prefix, subscriber.tenant)
        self._send = send
        self._keepalive = keepalive_seconds
        self._deadline = time.monotonic() + max_seconds
        self._position: Position = _BEGINNING
        self.outcome = StreamOutcome()

    async def tail(self) -> str:
        """The newest entry id of the tenant's stream: where a client without history starts."""
        newest = await self._client.xrevrange(self._key, "+", "-", count=1)
        return newest[0][0].decode() if newest else START

    async def run(self, *, resume_from: str, catch_up: bool) -> StreamOutcome:
        self._position = parse_entry_id(resume_from) or _BEGINNING
        if catch_up:
            await self._catch_up()
        await self._relay()
        return self.outcome

    async def _write(self, data: bytes) -> None:
        await self._send({"type": "http.response.body", "body": data, "more_body": True})

    async def _catch_up(self) -> None:
        """Send every entry after our position; the oldest entry and each chunk are read in
        one transaction, so trimming between the two can't hide a gap. From the beginning
        of a stream (START) there is no history to miss."""
        check_history = self._position != _BEGINNING
        while True:
            async with self._client.pipeline(transaction=True) as pipe:
                pipe.xrange(self._key, "-", "+", count=1)
                pipe.xrange(self._key, f"({_format(self._position)}", "+", count=CATCH_UP_CHUNK)
                oldest, entries = await pipe.execute()
            if check_history and not self.outcome.reset and self._history_lost(oldest):
                self.outcome.reset = True
                await self._write(RESET_FRAME)
            frames = []
            for entry_id, fields in entries:
                position = parse_entry_id(entry_id)
                if position is None or b"type" not in fields or not fields.get(b"body", b"").startswith(b"{"):
                    continue
                self._position = position
                sites = self._subscriber.sites
                if sites is not None and not event_visible(fields[b"type"], fields[b"body"], sites):
                    continue
                frames.append(sse_frame(entry_id, fields[b"type"], fields[b"body"]))
            if frames:
                await self._write(b"".join(frames))
                self.outcome.replayed += len(frames)
                self.outcome.events += len(frames)
            if len(entries) < CATCH_UP_CHUNK:
                return

    def _history_lost(self, oldest) -> bool:
        if not oldest:
            return True
        first = parse_entry_id(oldest[0][0])
        return first is None or first > self._position

    async def _relay(self) -> None:
        subscriber = self._subscriber
        while True:
            if subscriber.closed:
                self.outcome.reason = "client_closed"
                return
            if subscriber.stale and subscriber.queue.empty():
                # Cleared before reading, so anything offered from now on is queued; the
                # overlap with what we read is skipped by position below.
                subscriber.stale = False
                await self._catch_up()
                continue
            remaining = self._deadline - time.monotonic()
            if remaining <= 0:
                self.outcome.reason = "max_age"
                return
            try:
                async with asyncio.timeout(min(self._keepalive, remaining)):
                    item = await subscriber.queue.get()
            except TimeoutError:
                if self._deadline - time.monotonic() > 0:
                    await self._write(KEEPALIVE_FRAME)
                continue
            if item is WAKE:
                continue
            position, frame = item
            if position <= self._position:
                continue
            await self._write(frame)
            self._position = position
            self.outcome.events += 1
