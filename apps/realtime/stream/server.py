"""The stream process: a small raw ASGI application served by uvicorn beside the WSGI API.

Routes: `GET /api/v1/stream/` and `GET /api/events` (the same stream, for the dashboard
already in the field) and `GET /healthz`. It lives on Redis alone: the ORM under ASGI
leaked connections (docs/architecture.md, "Measured"), so people, roles and tenants are resolved on
the WSGI side and handed over in a single-use ticket (see `tickets`).

Credentials arrive in the query string, so this process logs its own request lines,
without the query string, and uvicorn's access log must stay off (`tocsin/asgi.py`
removes its handlers; run uvicorn with `--no-access-log` as well).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from dataclasses import dataclass
from urllib.parse import parse_qs

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from apps.common.request_context import clean_request_id, reset_request_id, set_request_id
from apps.realtime.stream.connection import EventStream
from apps.realtime.stream.events import channel_name, parse_entry_id
from apps.realtime.stream.hub import Hub
from apps.realtime.stream.tickets import StreamGrant, redeem_ticket

logger = logging.getLogger("tocsin.realtime.stream")

STREAM_PATHS = frozenset({"/api/v1/stream/", "/api/events"})
SUBSCRIBE_WAIT_SECONDS = 5.0
# A client that falls this many events behind catches up from Redis instead (see hub).
CLIENT_QUEUE_SIZE = 1000

_SSE_HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-store"),
    (b"x-accel-buffering", b"no"),
    # Safe for any origin: the ticket in the URL is the only credential; no cookie is read.
    (b"access-control-allow-origin", b"*"),
]


@dataclass(frozen=True)
class StreamConfig:
    redis_url: str
    prefix: str
    keepalive_seconds: float
    retry_ms: int
    max_connection_seconds: float

    @classmethod
    def from_settings(cls, settings) -> StreamConfig:
        return cls(redis_url=settings.REDIS_URL, prefix=settings.TOCSIN_REALTIME_PREFIX,
                   keepalive_seconds=settings.TOCSIN_STREAM_KEEPALIVE_SECONDS,
                   retry_ms=settings.TOCSIN_STREAM_RETRY_MS,
                   max_connection_seconds=settings.TOCSIN_STREAM_MAX_CONNECTION_SECONDS)


def _json_response_events(status: int, body: dict | None, request_id: str, extra_headers=()) -> tuple[dict, dict]:
    data = json.dumps(body).encode() if body is not None else b""
    headers = [(b"content-type", b"application/json"), (b"cache-control", b"no-store"),
               (b"access-control-allow-origin", b"*"), (b"x-request-id", request_id.encode()), *extra_headers]
    return ({"type": "http.response.start", "status": status, "headers": headers},
            {"type": "http.response.body", "body": data})


def _error(code: str, message: str) -> dict:
    return {"error": {"code": code, "message": message, "fields": None}}


_NOT_AUTHENTICATED = _error("not_authenticated", "Authentication required.")


class StreamApplication:
    def __init__(self, config: StreamConfig):
        self.config = config
        self._client: aioredis.Redis | None = None
        self._hub: Hub | None = None

    # --- lifecycle ------------------------------------------------------------------------------

    def _ensure_started(self) -> Hub:
        if self._hub is None:
            # No silent retries inside redis-py: a dropped subscription must surface, so the
            # hub knows to send every client back to the streams for what it missed.
            pool = aioredis.BlockingConnectionPool.from_url(
                self.config.redis_url, max_connections=64, timeout=SUBSCRIBE_WAIT_SECONDS,
                retry=Retry(NoBackoff(), 0), health_check_interval=15, socket_keepalive=True,
                socket_connect_timeout=2, socket_timeout=5, client_name=f"tocsin-stream:{os.getpid()}")
            self._client = aioredis.Redis(connection_pool=pool)
            self._hub = Hub(self._client, channel=channel_name(self.config.prefix), queue_size=CLIENT_QUEUE_SIZE)
        self._hub.start()
        return self._hub

    async def _shutdown(self) -> None:
        if self._hub is not None:
            await self._hub.stop()
        if self._client is not None:
            await self._client.aclose()

    async def _lifespan(self, receive, send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self._ensure_started()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self._shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return

    # --- requests -------------------------------------------------------------------------------

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return  # no websockets here; uvicorn refuses the handshake
        headers = {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in scope["headers"]}
        request_id = clean_request_id(headers.get("x-request-id"))
        token = set_request_id(request_id)
        started = time.monotonic()
        try:
            status = await self._route(scope, receive, send, headers, request_id)
            if scope["path"] != "/healthz":
                self._log_request(scope, status, started)
        finally:
            reset_request_id(token)

    async def _route(self, scope, receive, send, headers: dict, request_id: str) -> int:
        path, method = scope["path"], scope["method"]
        if path == "/healthz" and method == "GET":
            return await self._health(send, request_id)
        if path not in STREAM_PATHS:
            return await self._reply(send, 404, _error("not_found", "Not found."), request_id)
        if method == "OPTIONS":
            return await self._reply(send, 204, None, request_id, extra_headers=[
                (b"access-control-allow-methods", b"GET"),
                (b"access-control-allow-headers", b"last-event-id, x-request-id"),
                (b"access-control-max-age", b"600")])
        if method != "GET":
            return await self._reply(send, 405, _error("method_not_allowed", "Method not allowed."), request_id,
                                     extra_headers=[(b"allow", b"GET")])
        return await self._stream(scope, receive, send, headers, request_id)

    async def _reply(self, send, status: int, body: dict | None, request_id: str, extra_headers=()) -> int:
        start, payload = _json_response_events(status, body, request_id, extra_headers)
        await send(start)
        await send(payload)
        return status

    async def _health(self, send, request_id: str) -> int:
        hub = self._ensure_started()
        status = 200 if hub.subscribed else 503
        body = {"status": "ok" if hub.subscribed else "redis_unavailable", "clients": hub.clients}
        return await self._reply(send, status, body, request_id)

    async def _stream(self, scope, receive, send, headers: dict, request_id: str) -> int:
        try:
            query = parse_qs(scope["query_string"].decode("latin-1"), max_num_fields=8)
        except ValueError:
            return await self._reply(send, 400, _error("invalid", "Too many query parameters."), request_id)
        resume_from = headers.get("last-event-id") or (query.get("lastEventId") or [""])[0]
        if resume_from and parse_entry_id(resume_from) is None:
            return await self._reply(send, 400, _error("invalid", "Last-Event-ID is not an event id."), request_id)
        hub = self._ensure_started()
        try:
            grant = await redeem_ticket(self._client, prefix=self.config.prefix,
                                        ticket=(query.get("ticket") or [""])[0])
        except RedisError:
            return await self._unavailable(send, request_id)
        if grant is None:
            return await self._reply(send, 401, _NOT_AUTHENTICATED, request_id)
        return await self._serve(receive, send, hub, grant, resume_from, request_id)

    async def _serve(self, receive, send, hub: Hub, grant: StreamGrant, resume_from: str, request_id: str) -> int:
        """Relay the tenant's events to one client whose ticket checked out, until it leaves."""
        subscriber = hub.add(grant.tenant, grant.sites)
        watcher = None
        try:
            if not await hub.wait_subscribed(SUBSCRIBE_WAIT_SECONDS):
                return await self._unavailable(send, request_id)
            stream = EventStream(client=self._client, subscriber=subscriber, prefix=self.config.prefix, send=send,
                                 keepalive_seconds=self.config.keepalive_seconds,
                                 max_seconds=self.config.max_connection_seconds)
            try:
                start_at = resume_from or await stream.tail()
            except RedisError:
                return await self._unavailable(send, request_id)
            await send({"type": "http.response.start", "status": 200,
                        "headers": [*_SSE_HEADERS, (b"x-request-id", request_id.encode())]})
            await send({"type": "http.response.body", "more_body": True,
                        "body": f"retry: {self.config.retry_ms}\n: connected\n\n".encode()})
            watcher = _watch_disconnect(receive, subscriber)
            logger.info("stream opened", extra={"tenant": grant.tenant, "principal": grant.principal,
                                                "role": grant.role, "resume_from": resume_from or None,
                                                "clients": hub.clients})
            opened = time.monotonic()
            try:
                outcome = await stream.run(resume_from=start_at, catch_up=bool(resume_from))
            except RedisError as exc:
                outcome = stream.outcome
                outcome.reason = f"redis_error:{exc.__class__.__name__}"
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            logger.info("stream closed", extra={
                "tenant": grant.tenant, "principal": grant.principal, "reason": outcome.reason,
                "events": outcome.events, "replayed": outcome.replayed, "reset": outcome.reset,
                "seconds": round(time.monotonic() - opened, 1)})
            return 200
        finally:
            hub.remove(subscriber)
            if watcher is not None:
                watcher.cancel()

    async def _unavailable(self, send, request_id: str) -> int:
        return await self._reply(send, 503, _error("unavailable", "The event stream is unavailable; retry."),
                                 request_id, extra_headers=[(b"retry-after", b"3")])

    def _log_request(self, scope, status: int, started: float) -> None:
        client = scope.get("client") or ("-", 0)
        logger.info("stream request", extra={"method": scope["method"], "path": scope["path"], "status": status,
                                             "client": client[0],
                                             "duration_ms": round((time.monotonic() - started) * 1000, 1)})


def _watch_disconnect(receive, subscriber):
    """The response never ends by itself, so the client's going away is heard on `receive`."""

    async def watch() -> None:
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                subscriber.close()
                return

    return asyncio.get_running_loop().create_task(watch())
