"""A stand-in for the Tocsin device API, built to the same contract, for the agent's tests.

It is the far side of a network boundary, so the agent under test talks real HTTP to it:
enrolment with a verified Ed25519 signature, challenge renewal, revocation by token version,
scan batches deduplicated by scan_id, telemetry by message_id, device alerts by dedup key,
refusal of raw personal fields, and injectable faults (status codes, Retry-After, slow
answers). State lives apart from the listening socket, so a test can stop the server
("server down") and start it again on the same port with everything it had stored.
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

PII_FIELDS = {"family_name", "first_name", "name", "date_of_birth", "document_number", "address"}
SCAN_REQUIRED = {"scan_id": str, "scanned_at": str, "birth_year": int, "age": int,
                 "is_underage": bool, "is_valid": bool, "document_expired": bool}
DEFAULT_SITE_CONFIG = {
    "heartbeat_interval_seconds": 60,
    "batch_size": 10,
    "batch_timeout_seconds": 300,
    "underage_age": 21,
    "cpu_temp_threshold": 80.0,
    "battery_warning_percent": 20,
    "rssi_breach_dbm": -80,
    "allowed_bssids": ["aa:bb:cc:dd:ee:ff"],
    "scan_hash_key": "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
}


def iso(moment: float) -> str:
    return datetime.fromtimestamp(moment, tz=timezone.utc).isoformat().replace("+00:00", "Z")


@dataclass
class Fault:
    path: str
    status: int
    times: int
    retry_after: float | None = None
    delay: float = 0.0


@dataclass
class StandinState:
    token_lifetime: float = 3600.0
    scan_batch_delay: float = 0.0
    site_config: dict = field(default_factory=lambda: dict(DEFAULT_SITE_CONFIG))
    lock: threading.Lock = field(default_factory=threading.Lock)
    setup_tokens: dict = field(default_factory=dict)
    enrollments: dict = field(default_factory=dict)
    location_labels: list = field(default_factory=list)  # what each enrolment named (None: nothing)
    devices: dict = field(default_factory=dict)
    device_by_hardware: dict = field(default_factory=dict)
    challenges: dict = field(default_factory=dict)
    tokens: dict = field(default_factory=dict)
    scans: dict = field(default_factory=dict)
    scan_duplicates: int = 0
    scan_batches: list = field(default_factory=list)
    telemetry: dict = field(default_factory=dict)
    heartbeats: list = field(default_factory=list)
    alerts: list = field(default_factory=list)
    open_alert_keys: set = field(default_factory=set)
    faults: list = field(default_factory=list)
    requests: list = field(default_factory=list)
    renewals: int = 0

    def issue_setup_token(self, location_id: str = "loc-1", uses: int = 100) -> str:
        # Prefixed as the server's are ("st_"): a bare token_urlsafe starts with "-" one time
        # in 64, and `--setup-token -x...` then reads as an option.
        token = "st_" + secrets.token_urlsafe(16)
        with self.lock:
            self.setup_tokens[token] = {"location_id": location_id, "uses": uses}
        return token

    def fail(self, path: str, status: int, times: int = 1, *, retry_after: float | None = None,
             delay: float = 0.0) -> None:
        with self.lock:
            self.faults.append(Fault(path, status, times, retry_after, delay))

    def revoke(self, device_id: str) -> None:
        with self.lock:
            device = self.devices[device_id]
            device["revoked"] = True
            device["token_version"] += 1

    def expire_tokens(self) -> None:
        with self.lock:
            for token in self.tokens.values():
                token["expires_at"] = 0.0

    def count(self, method: str, path: str) -> int:
        with self.lock:
            return sum(1 for m, p, _ in self.requests if m == method and p == path)


class StandinServer:
    """Serves ``state`` on 127.0.0.1; ``port=0`` picks a free port."""

    def __init__(self, state: StandinState, port: int = 0) -> None:
        self.state = state
        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), _Handler)
        self.httpd.daemon_threads = True
        self.httpd.state = state  # type: ignore[attr-defined]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True,
                                       kwargs={"poll_interval": 0.05})

    @property
    def port(self) -> int:
        return int(self.httpd.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> StandinServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class _Reply(Exception):
    def __init__(self, status: int, body: Any, headers: dict | None = None) -> None:
        super().__init__(status)
        self.status = status
        self.body = body
        self.headers = headers or {}


def _error(status: int, code: str, message: str = "", fields: Any = None, **headers: str) -> _Reply:
    return _Reply(status, {"error": {"code": code, "message": message, "fields": fields}},
                  headers)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    @property
    def state(self) -> StandinState:
        return self.server.state  # type: ignore[attr-defined]

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def _handle(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        path = self.path
        try:
            self._inject_fault(path)
            body = json.loads(raw) if raw else None
            routes = {
                ("POST", "/api/v1/devices/enroll/"): self._enroll,
                ("POST", "/api/v1/devices/enroll/complete/"): self._enroll_complete,
                ("POST", "/api/v1/devices/challenge/"): self._challenge,
                ("POST", "/api/v1/devices/token/"): self._token,
                ("GET", "/api/v1/devices/me/"): self._me,
                ("POST", "/api/v1/heartbeats/"): self._heartbeat,
                ("POST", "/api/v1/scans/batch/"): self._scan_batch,
                ("POST", "/api/v1/telemetry/"): self._telemetry,
                ("POST", "/api/v1/device-alerts/"): self._device_alert,
            }
            route = routes.get((method, path))
            if route is None:
                raise _error(404, "not_found")
            route(body if isinstance(body, dict) else {})
            raise _Reply(500, {"error": {"code": "no_answer"}})
        except _Reply as reply:
            with self.state.lock:
                self.state.requests.append((method, path, reply.status))
            self._send(reply)
        except ValueError:
            self._send(_error(400, "invalid_json"))

    def _send(self, reply: _Reply) -> None:
        data = json.dumps(reply.body).encode()
        try:
            self.send_response(reply.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
        except OSError:
            pass

    def _inject_fault(self, path: str) -> None:
        with self.state.lock:
            fault = next(
                (f for f in self.state.faults if path.startswith(f.path) and f.times), None)
            if fault is not None:
                fault.times -= 1
        if fault is None:
            return
        time.sleep(fault.delay)
        headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
        raise _error(fault.status, "injected", f"injected {fault.status}", None, **headers)

    def _device(self) -> dict:
        header = self.headers.get("Authorization", "")
        token = header[len("Bearer "):] if header.startswith("Bearer ") else ""
        with self.state.lock:
            grant = self.state.tokens.get(token)
            device = self.state.devices.get(grant["device_id"]) if grant else None
            if (device is None or grant["version"] != device["token_version"]
                    or grant["expires_at"] < time.time()):
                raise _error(401, "token_invalid")
            return device

    def _grant(self, device: dict) -> dict:
        token = secrets.token_hex(16)
        expires = time.time() + self.state.token_lifetime
        self.state.tokens[token] = {"device_id": device["device_id"],
                                    "version": device["token_version"], "expires_at": expires}
        return {"access": token, "access_expires_at": iso(expires)}

    def _enroll(self, body: dict) -> None:
        missing = {k: "required" for k in ("setup_token", "location_id", "hardware_id", "model",
                                           "kind", "public_key") if not body.get(k)}
        if missing:
            raise _error(400, "invalid", "fields missing", missing)
        if body["kind"] not in ("scanner", "tablet", "gateway"):
            raise _error(400, "invalid", "bad kind", {"kind": "unknown"})
        with self.state.lock:
            setup = self.state.setup_tokens.get(body["setup_token"])
            if not setup or setup["uses"] <= 0 or setup["location_id"] != body["location_id"]:
                raise _error(403, "enrollment_refused")
            setup["uses"] -= 1
            enrollment_id = str(uuid.uuid4())
            challenge = base64.b64encode(secrets.token_bytes(32)).decode()
            self.state.enrollments[enrollment_id] = {**body, "challenge": challenge}
            self.state.location_labels.append(body.get("location_label"))
        raise _Reply(201, {"enrollment_id": enrollment_id, "challenge": challenge,
                           "expires_at": iso(time.time() + 300)})

    def _enroll_complete(self, body: dict) -> None:
        with self.state.lock:
            enrollment = self.state.enrollments.pop(str(body.get("enrollment_id")), None)
        if enrollment is None:
            raise _error(400, "invalid", "unknown enrollment")
        message = (f"tocsin-enroll-v1\n{body['enrollment_id']}\n{enrollment['hardware_id']}\n"
                   f"{enrollment['challenge']}")
        public_key = base64.b64decode(enrollment["public_key"])
        _verify(public_key, body.get("signature", ""), message)
        with self.state.lock:
            device_id = self.state.device_by_hardware.get(enrollment["hardware_id"])
            if device_id is None:
                device_id = f"dev-{len(self.state.devices) + 1}"
                self.state.device_by_hardware[enrollment["hardware_id"]] = device_id
                self.state.devices[device_id] = {"device_id": device_id, "token_version": 1}
            device = self.state.devices[device_id]
            device.update(public_key=public_key, revoked=False, kind=enrollment["kind"],
                          location_id=enrollment["location_id"], model=enrollment["model"],
                          hardware_id=enrollment["hardware_id"])
            device["token_version"] += 1
            grant = self._grant(device)
        raise _Reply(200, {"device_id": device_id, **grant})

    def _challenge(self, body: dict) -> None:
        with self.state.lock:
            if body.get("device_id") not in self.state.devices:
                raise _error(400, "invalid", "unknown device")
            challenge_id = str(uuid.uuid4())
            challenge = base64.b64encode(secrets.token_bytes(32)).decode()
            self.state.challenges[challenge_id] = {"device_id": body["device_id"],
                                                   "challenge": challenge}
        raise _Reply(200, {"challenge_id": challenge_id, "challenge": challenge,
                           "expires_at": iso(time.time() + 300)})

    def _token(self, body: dict) -> None:
        with self.state.lock:
            challenge = self.state.challenges.pop(str(body.get("challenge_id")), None)
            device = self.state.devices.get(str(body.get("device_id")))
        if challenge is None or device is None or challenge["device_id"] != device["device_id"]:
            raise _error(400, "invalid", "unknown challenge")
        if device["revoked"]:
            raise _error(403, "device_revoked", "device revoked")
        message = (f"tocsin-token-v1\n{body['challenge_id']}\n{device['device_id']}\n"
                   f"{challenge['challenge']}")
        _verify(device["public_key"], body.get("signature", ""), message)
        with self.state.lock:
            self.state.renewals += 1
            device["token_version"] += 1  # as the server: the token this one replaces dies
            grant = self._grant(device)
        raise _Reply(200, grant)

    def _me(self, body: dict) -> None:
        device = self._device()
        raise _Reply(200, {
            "device_id": device["device_id"], "name": device["hardware_id"],
            "kind": device["kind"], "model": device["model"], "status": "active",
            "site": {"location_id": device["location_id"], "name": "Stand-in site",
                     "kind": "store", "timezone": "America/New_York"},
            "config": self.state.site_config,
        })

    def _heartbeat(self, body: dict) -> None:
        device = self._device()
        with self.state.lock:
            self.state.heartbeats.append({"device_id": device["device_id"], **body})
        raise _Reply(202, {})

    def _scan_batch(self, body: dict) -> None:
        device = self._device()
        scans = body.get("scans")
        if not isinstance(scans, list) or not body.get("batch_id") or len(scans) > 500:
            raise _error(400, "invalid", "batch_id and up to 500 scans required")
        if any(isinstance(s, dict) and PII_FIELDS & set(s) for s in scans):
            raise _error(400, "personal_data_refused", "raw personal data is not accepted")
        accepted = duplicates = 0
        rejected = []
        with self.state.lock:
            self.state.scan_batches.append((body["batch_id"], len(scans)))
            for index, scan in enumerate(scans):
                errors = _scan_errors(scan)
                if errors:
                    rejected.append({"index": index, "errors": errors})
                elif scan["scan_id"] in self.state.scans:
                    duplicates += 1
                    self.state.scan_duplicates += 1
                else:
                    accepted += 1
                    self.state.scans[scan["scan_id"]] = {"device_id": device["device_id"], **scan}
        time.sleep(self.state.scan_batch_delay)
        raise _Reply(202, {"accepted": accepted, "duplicates": duplicates, "rejected": rejected})

    def _telemetry(self, body: dict) -> None:
        device = self._device()
        readings = body.get("readings")
        if not isinstance(readings, list) or len(readings) > 500:
            raise _error(400, "invalid", "readings required")
        accepted = duplicates = 0
        rejected = []
        with self.state.lock:
            for index, reading in enumerate(readings):
                if not isinstance(reading, dict) or not isinstance(reading.get("value"), float):
                    rejected.append({"index": index, "errors": {"value": "must be a number"}})
                elif reading["message_id"] in self.state.telemetry:
                    duplicates += 1
                else:
                    accepted += 1
                    self.state.telemetry[reading["message_id"]] = {
                        "device_id": device["device_id"], **reading}
        raise _Reply(202, {"accepted": accepted, "duplicates": duplicates, "rejected": rejected})

    def _device_alert(self, body: dict) -> None:
        device = self._device()
        if body.get("kind") not in ("breach", "underage", "tamper", "battery_low", "custom"):
            raise _error(400, "invalid", "bad kind", {"kind": "unknown"})
        if PII_FIELDS & set(body.get("details") or {}):
            raise _error(400, "personal_data_refused", "raw personal data is not accepted")
        key = (device["device_id"], body.get("dedup_key") or str(uuid.uuid4()))
        with self.state.lock:
            deduplicated = key in self.state.open_alert_keys
            self.state.open_alert_keys.add(key)
            self.state.alerts.append({"device_id": device["device_id"], **body})
        raise _Reply(200 if deduplicated else 201,
                     {"alert_id": str(uuid.uuid5(uuid.NAMESPACE_OID, repr(key))),
                      "deduplicated": deduplicated})


def _verify(public_key: bytes, signature_b64: str, message: str) -> None:
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(
            base64.b64decode(signature_b64), message.encode())
    except (InvalidSignature, ValueError) as exc:
        raise _error(400, "invalid_signature") from exc


def _scan_errors(scan: Any) -> dict:
    if not isinstance(scan, dict):
        return {"scan": "must be an object"}
    return {name: f"required {kind.__name__}" for name, kind in SCAN_REQUIRED.items()
            if not isinstance(scan.get(name), kind)}
