"""The local status API on 127.0.0.1 (stdlib HTTP server, no framework).

The scanner's existing touchscreen UI calls ``/api/aws/...``; newer tools call ``/api/...``.
Both answer the same. It listens on loopback only: anything on the device may ask for
status, nothing on the network can.
"""

from __future__ import annotations

import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol

from device_agent.http_client import RejectedRequest, TransientApiError

log = logging.getLogger(__name__)

LOOPBACK = "127.0.0.1"
MAX_BODY_BYTES = 64 * 1024
_PREFIXES = ("/api/", "/api/aws/")


class StatusService(Protocol):
    def status(self) -> dict[str, Any]:
        """``{registered, device_id, location_id, token_expires, batch_size, ...}``."""

    def register(
        self, setup_token: str, location_id: str, location_label: str | None = None
    ) -> dict[str, Any]:
        """Enrol with a setup token; raises the http_client error classes on refusal."""

    def force_batch(self) -> dict[str, Any]:
        """Send everything held now and report what happened."""


def _error(status: int, code: str, message: str, fields: Any = None) -> tuple[int, dict]:
    return status, {"error": {"code": code, "message": message, "fields": fields}}


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def _dispatch(self, method: str) -> None:
        action = self._action()
        expected = {"status": "GET", "register": "POST", "force-batch": "POST"}.get(action or "")
        try:
            if expected is None:
                self._reply(*_error(404, "not_found", "no such endpoint"))
            elif method != expected:
                self._reply(*_error(405, "method_not_allowed", f"use {expected}"))
            elif action == "status":
                self._reply(200, self.server.service.status())
            elif action == "register":
                self._reply(*self._register())
            else:
                self._read_body()
                self._reply(200, self.server.service.force_batch())
        except ValueError:
            self._reply(*_error(400, "invalid_json", "body must be JSON"))
        except Exception:
            log.exception("status API request failed")
            self._reply(*_error(500, "internal_error", "see the agent's log"))

    def _action(self) -> str | None:
        path = self.path.split("?", 1)[0].rstrip("/")
        for prefix in sorted(_PREFIXES, key=len, reverse=True):
            if path.startswith(prefix) and "/" not in path[len(prefix):]:
                return path[len(prefix):]
        return None

    def _read_body(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            raise ValueError("request body too large")
        raw = self.rfile.read(length) if length else b""
        return json.loads(raw) if raw.strip() else {}

    def _register(self) -> tuple[int, dict]:
        try:
            body = self._read_body()
        except ValueError:
            return _error(400, "invalid_json", "body must be a JSON object")
        body = body if isinstance(body, dict) else {}
        token, location = body.get("setup_token"), body.get("location_id")
        missing = {
            name: "required string"
            for name, value in (("setup_token", token), ("location_id", location))
            if not isinstance(value, str) or not value
        }
        if missing:
            return _error(400, "invalid", "setup_token and location_id are required", missing)
        try:
            label = body.get("location_label")
            label = label if isinstance(label, str) and label else None
            return 200, self.server.service.register(str(token), str(location), label)
        except RejectedRequest as exc:
            status = 400 if exc.status == 400 else 403
            return _error(status, exc.code, exc.message or "enrolment refused", exc.fields)
        except TransientApiError as exc:
            return _error(502, "server_unreachable", str(exc))

    def _reply(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("status api request", extra={"fields": {"request": format % args}})


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, port: int, service: StatusService) -> None:
        self.service = service
        super().__init__((LOOPBACK, port), _Handler)


class StatusApiServer:
    """Serves the status API from a background thread."""

    def __init__(self, service: StatusService, port: int) -> None:
        self._server = _Server(port, service)
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="tocsin-status-api", daemon=True
        )

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self) -> None:
        self._thread.start()
        log.info("status API listening", extra={"fields": {"address": f"{LOOPBACK}:{self.port}"}})

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
