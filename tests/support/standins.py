"""Local stand-ins for the providers Tocsin delivers to: Twilio, Slack, SMTP, signed webhooks.

Each stand-in is a real socket server on 127.0.0.1 (a free port), served from daemon
threads, so a Celery worker running in another process can deliver to it while the test
process inspects what arrived. They answer the way the real services do (status codes,
error JSON, headers) so the real SDKs (twilio, slack_sdk, smtplib / Django's SMTP
backend, requests) can be exercised end to end without any network leaving the machine.

Common API (every stand-in):

* ``start()`` / ``stop()`` and use as a context manager; ``base_url`` (HTTP ones),
  ``host`` / ``port``.
* ``messages``: a snapshot list of the successful deliveries (dicts); ``requests``: how
  many requests arrived (failed ones included); ``request_log``: one small dict per
  request (method, path, status, failure mode; never bodies or credentials).
* ``wait_for(count, timeout=10)`` blocks until at least ``count`` messages arrived and
  returns them; raises ``TimeoutError`` (with ``.messages`` set to what did arrive).
* ``fail_next(n, mode, **kw)`` queues ``n`` scripted failures consumed in order by the
  next requests; ``fail_always(mode, **kw)`` fails every request once the queue is
  empty; ``clear_failures()``. ``delay_seconds`` adds latency to every answer.
* ``reset()`` forgets messages, counts, failures and latency.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import itertools
import json
import logging
import re
import secrets
import sys
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes
from email import policy as email_policy
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests

__all__ = [
    "DEFAULT_SLACK_TOKEN",
    "DEFAULT_TWILIO_ACCOUNT_SID",
    "DEFAULT_TWILIO_AUTH_TOKEN",
    "DEFAULT_WEBHOOK_SECRET",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "SlackStandIn",
    "SmtpStandIn",
    "TwilioStandIn",
    "WebhookReceiver",
    "sign",
]

DEFAULT_TWILIO_ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
DEFAULT_TWILIO_AUTH_TOKEN = "5tand1n" + "0" * 25
DEFAULT_SLACK_TOKEN = "xoxb-000000000000-0000000000000-standinstandinstandin00"
DEFAULT_WEBHOOK_SECRET = "whsec-standin-secret"

TIMESTAMP_HEADER = "X-Tocsin-Timestamp"
SIGNATURE_HEADER = "X-Tocsin-Signature"


# ---------------------------------------------------------------------------------------
# Shared machinery: recording, failure script, interruptible sleeps
# ---------------------------------------------------------------------------------------


@dataclass
class Failure:
    mode: str
    kw: dict[str, Any] = field(default_factory=dict)


class _Recorder:
    """Thread-safe recording and failure script shared by every stand-in."""

    #: failure modes the subclass understands (besides the generic ones in GENERIC_MODES)
    MODES: tuple[str, ...] = ()
    GENERIC_MODES: tuple[str, ...] = ()

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self._messages: list[dict[str, Any]] = []
        self._log: list[dict[str, Any]] = []
        self._script: deque[Failure] = deque()
        self._always: Failure | None = None
        self._stopping = threading.Event()
        self.requests = 0
        self.delay_seconds: float = 0.0

    # -- recording --------------------------------------------------------------------

    @property
    def messages(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._messages)

    @property
    def request_log(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._log)

    def _record(self, message: dict[str, Any]) -> None:
        message.setdefault("at", time.time())
        with self._arrived:
            self._messages.append(message)
            self._arrived.notify_all()

    def _count_request(self) -> Failure | None:
        """Count one arriving request and hand back the failure it must suffer, if any."""
        with self._lock:
            self.requests += 1
            if self._script:
                return self._script.popleft()
            return self._always

    def _log_request(self, **entry: Any) -> dict[str, Any]:
        """Append an entry (in arrival order); the caller may fill in its outcome later."""
        entry.setdefault("at", time.time())
        with self._lock:
            self._log.append(entry)
        return entry

    def wait_for(self, count: int, timeout: float = 10) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        with self._arrived:
            while len(self._messages) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    got = list(self._messages)
                    error = TimeoutError(
                        f"{type(self).__name__}: wanted {count} message(s) within {timeout}s, "
                        f"got {len(got)} (after {self.requests} request(s)): {got!r}"
                    )
                    error.messages = got  # type: ignore[attr-defined]
                    raise error
                self._arrived.wait(remaining)
            return list(self._messages)

    def reset(self) -> None:
        with self._lock:
            self._messages.clear()
            self._log.clear()
            self._script.clear()
            self._always = None
            self.requests = 0
            self.delay_seconds = 0.0

    # -- failure script ---------------------------------------------------------------

    def _check_mode(self, mode: str) -> None:
        allowed = self.MODES + self.GENERIC_MODES
        if mode not in allowed:
            raise ValueError(f"{type(self).__name__} has no failure mode {mode!r}; choose from {allowed}")

    def fail_next(self, n: int, mode: str, **kw: Any) -> None:
        """The next ``n`` requests fail with ``mode`` (queued after failures already scripted)."""
        self._check_mode(mode)
        if n < 1:
            raise ValueError("n must be at least 1")
        with self._lock:
            self._script.extend(Failure(mode, dict(kw)) for _ in range(n))

    def fail_always(self, mode: str, **kw: Any) -> None:
        """Every request fails with ``mode`` once the ``fail_next`` queue is used up."""
        self._check_mode(mode)
        with self._lock:
            self._always = Failure(mode, dict(kw))

    def clear_failures(self) -> None:
        with self._lock:
            self._script.clear()
            self._always = None

    # -- lifecycle ----------------------------------------------------------------------

    def _sleep(self, seconds: float) -> bool:
        """Sleep, waking early if the stand-in stops. True when it was interrupted."""
        return self._stopping.wait(seconds) if seconds > 0 else self._stopping.is_set()

    def start(self):  # pragma: no cover - abstract
        raise NotImplementedError

    def stop(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


# ---------------------------------------------------------------------------------------
# HTTP base
# ---------------------------------------------------------------------------------------


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: Any  # http.client.HTTPMessage: case-insensitive .get()
    body: bytes

    @property
    def content_type(self) -> str:
        return (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()

    def form(self) -> dict[str, str]:
        """Form fields, last value wins (Twilio's and Slack's parsers behave so for scalars)."""
        parsed = parse_qs(self.body.decode("utf-8", "replace"), keep_blank_values=True)
        return {key: values[-1] for key, values in parsed.items()}

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8"))


@dataclass
class Response:
    status: int
    body: bytes | str | dict | list = b""
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json; charset=utf-8"

    def payload(self) -> bytes:
        if isinstance(self.body, dict | list):
            return json.dumps(self.body).encode("utf-8")
        if isinstance(self.body, str):
            return self.body.encode("utf-8")
        return self.body


class _QuietHandler(BaseHTTPRequestHandler):
    server_version = "StandIn/1.0"

    def version_string(self) -> str:
        return self.server_version

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the per-request stderr log (it could carry query strings)."""

    def _serve(self) -> None:
        self.server.standin._serve(self)  # type: ignore[attr-defined]

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve


class _KeepAliveHandler(_QuietHandler):
    """HTTP/1.1 with persistent connections, as real receivers answer (see `keep_alive`)."""

    protocol_version = "HTTP/1.1"
    # Headers and body leave in two writes; with Nagle on, the second waits for the client's
    # delayed ACK (~40 ms) on a kept-alive connection. Real servers set TCP_NODELAY too.
    disable_nagle_algorithm = True


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client hanging up mid-request is routine here (timeouts); stay quiet about it."""
        if not isinstance(sys.exc_info()[1], ConnectionError | TimeoutError):
            super().handle_error(request, client_address)


class _HttpStandIn(_Recorder):
    """A ThreadingHTTPServer on 127.0.0.1:<free port> answering through ``_handle``.

    Generic failure modes for every HTTP stand-in:

    * ``"timeout"``: hold the connection ``seconds`` (default 5) and then close it without
      an answer, so the client's read timeout fires. With ``deliver=True`` the request is
      processed (the message is recorded) before the silence: "the provider got it but the
      answer was lost". ``stop()`` cuts the wait short.
    * ``"disconnect"``: read the request, then close the connection without answering.
    """

    GENERIC_MODES = ("timeout", "disconnect")
    # Off by default: most tests want one request per connection. The throughput bench turns it on,
    # because a real endpoint keeps connections alive and a client that reuses them is cheaper.
    keep_alive = False

    def __init__(self) -> None:
        super().__init__()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self.host = "127.0.0.1"
        self.port: int | None = None

    @property
    def base_url(self) -> str:
        if self.port is None:
            raise RuntimeError(f"{type(self).__name__} is not started")
        return f"http://{self.host}:{self.port}"

    def start(self):
        if self._server is not None:
            return self
        self._stopping.clear()
        server = _Server((self.host, 0), _KeepAliveHandler if self.keep_alive else _QuietHandler)
        server.standin = self  # type: ignore[attr-defined]
        self._server = server
        self.port = server.server_address[1]
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.01},
            name=f"{type(self).__name__}:{self.port}", daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping.set()  # wakes handlers held by "timeout" / delay_seconds
        server.shutdown()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    # -- request plumbing -------------------------------------------------------------

    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        split = urlsplit(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length > 0 else b""
        request = Request(handler.command, split.path, parse_qs(split.query), handler.headers, body)

        failure = self._count_request()
        log = self._log_request(method=request.method, path=request.path,
                                failure=failure.mode if failure else None, status=None)
        if self.delay_seconds and self._sleep(self.delay_seconds):
            self._drop(handler, log, "stopped")
            return

        if failure is not None and failure.mode == "disconnect":
            self._drop(handler, log, "disconnected")
            return
        if failure is not None and failure.mode == "timeout":
            if failure.kw.get("deliver"):
                self._handle(request)  # processed (and recorded) but the answer never comes
            self._sleep(float(failure.kw.get("seconds", 5)))
            self._drop(handler, log, "timed out")
            return

        try:
            response = self._failure_response(failure, request) if failure else self._handle(request)
        except Exception as exc:  # a bug in a stand-in must show up as a 500, not a hang
            response = Response(500, {"error": f"stand-in crashed: {type(exc).__name__}: {exc}"})
        log["status"] = response.status
        self._write(handler, response)

    def _drop(self, handler: BaseHTTPRequestHandler, log: dict[str, Any], outcome: str) -> None:
        log["outcome"] = outcome
        handler.close_connection = True

    def _write(self, handler: BaseHTTPRequestHandler, response: Response) -> None:
        payload = response.payload()
        try:
            handler.send_response(response.status)
            handler.send_header("Content-Type", response.content_type)
            handler.send_header("Content-Length", str(len(payload)))
            handler.send_header("Connection", "keep-alive" if self.keep_alive else "close")
            for name, value in response.headers.items():
                handler.send_header(name, value)
            handler.end_headers()
            handler.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (its own timeout): nothing to answer
            handler.close_connection = True
        if not self.keep_alive:
            handler.close_connection = True

    # -- to be provided by each stand-in ---------------------------------------------------

    def _handle(self, request: Request) -> Response:  # pragma: no cover - abstract
        raise NotImplementedError

    def _failure_response(self, failure: Failure, request: Request) -> Response:  # pragma: no cover
        raise NotImplementedError


def _retry_after_headers(kw: dict[str, Any], default: Any = None) -> dict[str, str]:
    value = kw.get("retry_after", default)
    return {} if value is None else {"Retry-After": str(value)}


# ---------------------------------------------------------------------------------------
# Twilio
# ---------------------------------------------------------------------------------------

_TWILIO_MESSAGES = {
    20003: "Authenticate",
    20404: "The requested resource {path} was not found",
    20429: "Too Many Requests",
    20500: "An internal server error has occurred",
    20503: "Service Unavailable",
    21211: "Invalid 'To' Phone Number: {to}",
    21408: "Permission to send an SMS has not been enabled for the region indicated by the 'To' number: {to}",
    21602: "Message body is required.",
    21603: "A 'From' phone number is required.",
    21604: "A 'To' phone number is required.",
    21606: "The 'From' phone number provided ({from_}) is not a valid message-capable Twilio phone number "
           "for this destination.",
    21610: "Attempt to send to unsubscribed recipient",
    21612: "The 'To' phone number: {to}, is not currently reachable using the 'From' phone number: {from_} via SMS.",
    21614: "'To' number is not a valid mobile number",
    21617: "The concatenated message body exceeds the 1600 character limit.",
}
_E164 = re.compile(r"^\+[1-9]\d{6,14}$")
_GSM7 = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    "ÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà^{}\\[~]|€"
)


def _twilio_error(status: int, code: int, message: str | None = None, **fmt: Any) -> Response:
    text = message or _TWILIO_MESSAGES.get(code, "Error").format(**{"to": "", "from_": "", "path": "", **fmt})
    body = {"code": code, "message": text, "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status}
    return Response(status, body)


def _segments(body: str) -> int:
    gsm = all(char in _GSM7 for char in body)
    single, multi = (160, 153) if gsm else (70, 67)
    return 1 if len(body) <= single else -(-len(body) // multi)


class TwilioStandIn(_HttpStandIn):
    """Twilio's Messages API: ``POST /2010-04-01/Accounts/{AccountSid}/Messages.json``.

    Failure modes: ``"error"`` (``status``=400, ``code``=21211, optional ``message``),
    ``"rate_limit"`` (429, code 20429, ``Retry-After: retry_after`` default 1),
    ``"server_error"`` (``status`` 500 → code 20500, 503 → 20503; ``body`` to send a raw
    non-JSON body instead), plus ``"timeout"`` and ``"disconnect"``.
    Recorded messages: {"to", "from", "body", "status_callback", "sid", "at"} (plus
    "messaging_service_sid").
    """

    MODES = ("error", "rate_limit", "server_error")
    API_PREFIX = "https://api.twilio.com"
    _PATH = re.compile(r"^/2010-04-01/Accounts/(?P<sid>[^/]+)/Messages\.json$")
    _CALLS_PATH = re.compile(r"^/2010-04-01/Accounts/(?P<sid>[^/]+)/Calls\.json$")

    def __init__(self, account_sid: str = DEFAULT_TWILIO_ACCOUNT_SID,
                 auth_token: str = DEFAULT_TWILIO_AUTH_TOKEN) -> None:
        super().__init__()
        self.account_sid = account_sid
        self.auth_token = auth_token
        self._calls: list[dict[str, Any]] = []

    @property
    def calls(self) -> list[dict[str, Any]]:
        """Calls placed (``POST .../Calls.json``): {"to", "from", "url", "method", "status_callback",
        "status_callback_event", "timeout", "sid", "at"}. Kept apart from ``messages`` (SMS)."""
        with self._lock:
            return list(self._calls)

    def wait_for_calls(self, count: int, timeout: float = 10) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        with self._arrived:
            while len(self._calls) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"TwilioStandIn: wanted {count} call(s) within {timeout}s, got {self._calls!r}")
                self._arrived.wait(remaining)
            return list(self._calls)

    def reset(self) -> None:
        super().reset()
        with self._lock:
            self._calls.clear()

    def __repr__(self) -> str:  # never show the token
        return f"<TwilioStandIn {self.account_sid} at {self.port}>"

    def rewrite(self, url: str) -> str:
        """Map a URL twilio-python built for api.twilio.com onto this stand-in."""
        if url.startswith(self.API_PREFIX):
            return self.base_url + url[len(self.API_PREFIX):]
        return url

    # -- answering ----------------------------------------------------------------------

    def _authorised(self, request: Request) -> bool:
        header = request.headers.get("Authorization") or ""
        if not header.startswith("Basic "):
            return False
        try:
            user, _, password = base64.b64decode(header[6:]).decode("utf-8").partition(":")
        except ValueError:
            return False
        return hmac.compare_digest(user, self.account_sid) and hmac.compare_digest(password, self.auth_token)

    def _handle(self, request: Request) -> Response:
        match = self._PATH.match(request.path)
        calls = self._CALLS_PATH.match(request.path)
        if request.method == "POST" and calls:
            return self._place_call(request, calls["sid"])
        if request.method != "POST" or not match:
            return _twilio_error(404, 20404, path=request.path)
        if not self._authorised(request) or match["sid"] != self.account_sid:
            response = _twilio_error(401, 20003)
            response.headers["WWW-Authenticate"] = 'Basic realm="Twilio API"'
            return response

        form = request.form()
        to, from_ = form.get("To", ""), form.get("From", "")
        service, body = form.get("MessagingServiceSid", ""), form.get("Body", "")
        if not to:
            return _twilio_error(400, 21604)
        if not _E164.match(to):
            return _twilio_error(400, 21211, to=to)
        if not from_ and not service:
            return _twilio_error(400, 21603)
        if not body and not form.get("MediaUrl") and not form.get("ContentSid"):
            return _twilio_error(400, 21602)
        if len(body) > 1600:
            return _twilio_error(400, 21617)

        sid = "SM" + uuid.uuid4().hex
        now = format_datetime(datetime.now(UTC))
        uri = f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}.json"
        resource = {
            "account_sid": self.account_sid, "api_version": "2010-04-01", "body": body,
            "date_created": now, "date_sent": None, "date_updated": now, "direction": "outbound-api",
            "error_code": None, "error_message": None, "from": from_ or None,
            "messaging_service_sid": service or None, "num_media": "0",
            "num_segments": str(_segments(body)), "price": None, "price_unit": "USD", "sid": sid,
            # with a Messaging Service and no From, Twilio answers "accepted" (sender chosen later)
            "status": "queued" if from_ else "accepted",
            "subresource_uris": {"media": uri.replace(".json", "/Media.json")}, "to": to, "uri": uri,
        }
        self._record({"to": to, "from": from_ or None, "body": body,
                      "status_callback": form.get("StatusCallback") or None, "sid": sid,
                      "messaging_service_sid": service or None})
        return Response(201, resource, headers={"Twilio-Request-Id": "RQ" + uuid.uuid4().hex})

    def _place_call(self, request: Request, account_sid: str) -> Response:
        """Twilio's Calls API: validates like Twilio (To, From, Url or Twiml) and queues the call.
        The test then plays Twilio's part: fetch ``url`` (``post_signed``), answer the Gather,
        post the status callback."""
        if not self._authorised(request) or account_sid != self.account_sid:
            return _twilio_error(401, 20003)
        form = request.form()
        to, from_ = form.get("To", ""), form.get("From", "")
        if not to:
            return _twilio_error(400, 21201, "No 'To' number is specified")
        if not _E164.match(to):
            return _twilio_error(400, 21211, to=to)
        if not from_:
            return _twilio_error(400, 21213, "No 'From' number is specified")
        if not form.get("Url") and not form.get("Twiml") and not form.get("ApplicationSid"):
            return _twilio_error(400, 21205, "Url parameter is required.")
        sid = "CA" + uuid.uuid4().hex
        now = format_datetime(datetime.now(UTC))
        parsed = parse_qs(request.body.decode("utf-8", "replace"))
        self._record_call({"to": to, "from": from_, "url": form.get("Url") or None, "twiml": form.get("Twiml") or None,
                           "method": form.get("Method") or "POST",
                           "status_callback": form.get("StatusCallback") or None,
                           "status_callback_event": parsed.get("StatusCallbackEvent", []),
                           "timeout": form.get("Timeout") or None, "sid": sid})
        resource = {"account_sid": self.account_sid, "api_version": "2010-04-01", "sid": sid, "status": "queued",
                    "to": to, "from": from_, "direction": "outbound-api", "date_created": now, "date_updated": now,
                    "uri": f"/2010-04-01/Accounts/{self.account_sid}/Calls/{sid}.json"}
        return Response(201, resource, headers={"Twilio-Request-Id": "RQ" + uuid.uuid4().hex})

    def _record_call(self, call: dict[str, Any]) -> None:
        call.setdefault("at", time.time())
        with self._arrived:
            self._calls.append(call)
            self._arrived.notify_all()

    def _failure_response(self, failure: Failure, request: Request) -> Response:
        kw = failure.kw
        form = request.form() if request.content_type == "application/x-www-form-urlencoded" else {}
        if failure.mode == "error":
            status, code = int(kw.get("status", 400)), int(kw.get("code", 21211))
            return _twilio_error(status, code, kw.get("message"), to=form.get("To", ""), from_=form.get("From", ""))
        if failure.mode == "rate_limit":
            response = _twilio_error(429, 20429)
            response.headers.update(_retry_after_headers(kw, default=1))
            return response
        status = int(kw.get("status", 500))
        if "body" in kw:
            return Response(status, kw["body"], content_type=kw.get("content_type", "text/html; charset=utf-8"))
        response = _twilio_error(status, int(kw.get("code", 20503 if status == 503 else 20500)))
        response.headers.update(_retry_after_headers(kw))
        return response

    # -- status callbacks (Twilio → Tocsin) ------------------------------------------------

    def status_callback_params(self, message_sid: str, status: str, error_code: Any = None,
                               **extra: str) -> dict[str, str]:
        """The form fields Twilio posts to a message's StatusCallback."""
        sent = next((m for m in reversed(self.messages) if m["sid"] == message_sid), {})
        params = {
            "AccountSid": self.account_sid, "ApiVersion": "2010-04-01",
            "From": sent.get("from") or "", "To": sent.get("to") or "",
            "MessageSid": message_sid, "SmsSid": message_sid,
            "MessageStatus": status, "SmsStatus": status,
        }
        if sent.get("messaging_service_sid"):
            params["MessagingServiceSid"] = sent["messaging_service_sid"]
        if error_code is not None:
            params["ErrorCode"] = str(error_code)
        params.update(extra)
        return params

    def post_status_callback(self, url: str, message_sid: str, status: str, error_code: Any = None,
                             auth_token: str | None = None, forge: bool = False, timeout: float = 10,
                             **extra: str) -> int:
        """POST a Twilio-style status callback to ``url``, signed like Twilio signs it.

        The signature (``X-Twilio-Signature``) is ``RequestValidator(token).compute_signature(url,
        params)`` with this stand-in's auth token unless ``auth_token`` is given; ``forge=True``
        sends a signature made with a wrong token. ``url`` must be exactly the URL the receiver
        will reconstruct (scheme, host, port, path, query). Returns the HTTP status code.
        """
        from twilio.request_validator import RequestValidator

        params = self.status_callback_params(message_sid, status, error_code, **extra)
        token = auth_token if auth_token is not None else self.auth_token
        if forge:
            token = token + "-forged"
        signature = RequestValidator(token).compute_signature(url, params)
        response = requests.post(
            url, data=params, timeout=timeout, allow_redirects=False,
            headers={"X-Twilio-Signature": signature, "User-Agent": "TwilioProxy/1.1",
                     "I-Twilio-Idempotency-Token": uuid.uuid4().hex},
        )
        return response.status_code

    # -- Twilio → Tocsin: inbound messages and calls ---------------------------------------

    def sign(self, url: str, params: dict[str, str], *, forge: bool = False) -> str:
        """``X-Twilio-Signature`` for a POST of ``params`` to ``url``, as Twilio computes it."""
        from twilio.request_validator import RequestValidator

        return RequestValidator(self.auth_token + ("-forged" if forge else "")).compute_signature(url, params)

    def inbound_params(self, from_: str, body: str, to: str = "+15005550006", **extra: str) -> dict[str, str]:
        """The form fields Twilio posts to a number's incoming-message webhook."""
        sid = "SM" + uuid.uuid4().hex
        params = {"ToCountry": "US", "SmsMessageSid": sid, "NumMedia": "0", "SmsSid": sid, "SmsStatus": "received",
                  "Body": body, "To": to, "NumSegments": "1", "MessageSid": sid, "AccountSid": self.account_sid,
                  "From": from_, "ApiVersion": "2010-04-01"}
        params.update(extra)
        return params

    def call_params(self, call_sid: str, status: str = "in-progress", **extra: str) -> dict[str, str]:
        """The form fields Twilio posts about a call it placed (TwiML fetch, Gather, status callback)."""
        call = next((c for c in reversed(self.calls) if c["sid"] == call_sid), {})
        params = {"AccountSid": self.account_sid, "ApiVersion": "2010-04-01", "CallSid": call_sid,
                  "CallStatus": status, "Direction": "outbound-api", "From": call.get("from") or "",
                  "To": call.get("to") or "", "Called": call.get("to") or "", "Caller": call.get("from") or ""}
        params.update(extra)
        return params

    def post_signed(self, url: str, params: dict[str, str], *, forge: bool = False, signed_url: str | None = None,
                    timeout: float = 10) -> requests.Response:
        """POST ``params`` to ``url`` signed like Twilio (over ``signed_url`` when the URL Twilio
        was given differs from where the request lands, e.g. behind a proxy)."""
        signature = self.sign(signed_url or url, params, forge=forge)
        return requests.post(url, data=params, timeout=timeout, allow_redirects=False,
                             headers={"X-Twilio-Signature": signature, "User-Agent": "TwilioProxy/1.1"})


# ---------------------------------------------------------------------------------------
# Slack
# ---------------------------------------------------------------------------------------

_SLACK_HOOK_ERRORS = {  # incoming-webhook error body → HTTP status, as Slack answers them
    "invalid_payload": 400, "no_text": 400, "too_many_attachments": 400,
    "user_not_found": 404, "channel_not_found": 404, "no_service": 404, "no_service_id": 400,
    "no_team": 400, "team_disabled": 403, "invalid_token": 403, "action_prohibited": 403,
    "posting_to_general_channel_denied": 403, "channel_is_archived": 410,
}


class SlackStandIn(_HttpStandIn):
    """Slack's Web API (``/api/chat.postMessage``, ``/api/auth.test``) and incoming webhooks.

    Failure modes (applied to whichever endpoint gets the next request):

    * ``"error"`` (``error``, default "channel_not_found"): the Web API answers 200
      ``{"ok": false, "error": ...}``; a webhook answers the error as a plain-text body
      with Slack's status for it (no_service/channel_not_found 404, invalid_token/
      action_prohibited 403, channel_is_archived 410, invalid_payload/no_text 400).
    * ``"rate_limit"``: 429 with ``Retry-After`` (``retry_after``, default 1); the Web API
      body is ``{"ok": false, "error": "ratelimited"}``, a webhook's is ``rate_limited``.
    * ``"server_error"`` (``status`` default 500, optional raw ``body``).
    * ``"timeout"``, ``"disconnect"``.

    Recorded messages: Web API ``{"kind": "chat.postMessage", "channel", "channel_id", "text",
    "blocks", "attachments", "thread_ts", "ts", "at"}``; webhook ``{"kind": "webhook", "path",
    "text", "blocks", "attachments", "json", "at"}``.
    """

    MODES = ("error", "rate_limit", "server_error")
    TEAM_ID, USER_ID, BOT_ID = "T0STANDIN", "U0STANDIN", "B0STANDIN"

    def __init__(self, token: str = DEFAULT_SLACK_TOKEN,
                 webhook_path: str = "/services/T000/B000/XXXXXXXXXXXXXXXXXXXXXXXX") -> None:
        super().__init__()
        self.token = token
        self.webhook_path = webhook_path
        self._ts_seq = itertools.count(1)

    def __repr__(self) -> str:
        return f"<SlackStandIn at {self.port}>"

    @property
    def api_url(self) -> str:
        """What to pass as ``WebClient(base_url=...)``."""
        return self.base_url + "/api/"

    @property
    def webhook_url(self) -> str:
        return self.base_url + self.webhook_path

    # -- answering ----------------------------------------------------------------------

    def _handle(self, request: Request) -> Response:
        if request.path.startswith("/api/"):
            return self._web_api(request, request.path[len("/api/"):])
        if request.path.startswith("/services/"):
            return self._webhook(request)
        if request.path.startswith("/actions/"):
            return self._response_url(request)
        return Response(404, "Not Found", content_type="text/plain; charset=utf-8")

    # -- interactivity (Slack → Tocsin, and the answer through response_url) ---------------

    def response_url(self) -> str:
        """A fresh ``response_url`` as Slack puts in an interaction payload (answered by this stand-in)."""
        return f"{self.base_url}/actions/{self.TEAM_ID}/{next(self._ts_seq)}/{secrets.token_hex(12)}"

    def _response_url(self, request: Request) -> Response:
        """Slack's response_url: JSON with text/blocks, replace_original, response_type."""
        try:
            payload = request.json()
        except ValueError:
            return Response(400, {"ok": False, "error": "invalid_json"})
        if not isinstance(payload, dict) or not (payload.get("text") or payload.get("blocks")):
            return Response(400, {"ok": False, "error": "no_text"})
        self._record({"kind": "response_url", "path": request.path, "text": payload.get("text"),
                      "blocks": payload.get("blocks"), "replace_original": payload.get("replace_original"),
                      "response_type": payload.get("response_type"), "json": payload})
        return Response(200, {"ok": True})

    def block_actions_payload(self, *, user_id: str, action_id: str, value: str, message: dict | None = None,
                              response_url: str | None = None) -> dict[str, Any]:
        """What Slack posts when someone presses a button of ``message`` (a chat.postMessage record)."""
        message = message or {}
        return {
            "type": "block_actions", "api_app_id": "A0STANDIN", "token": "verification-token-unused",
            "team": {"id": self.TEAM_ID, "domain": "standin"},
            "user": {"id": user_id, "username": user_id.lower(), "team_id": self.TEAM_ID},
            "container": {"type": "message", "message_ts": message.get("ts", "1.000001"),
                          "channel_id": message.get("channel_id", "C0STANDIN"), "is_ephemeral": False},
            "channel": {"id": message.get("channel_id", "C0STANDIN"), "name": "alerts"},
            "message": {"type": "message", "ts": message.get("ts", "1.000001"), "text": message.get("text") or "",
                        "blocks": message.get("blocks") or []},
            "response_url": response_url or self.response_url(),
            "trigger_id": f"{int(time.time())}.{secrets.randbelow(10**9)}",
            "actions": [{"type": "button", "action_id": action_id, "block_id": "tocsin_actions", "value": value,
                         "action_ts": f"{time.time():.6f}", "text": {"type": "plain_text", "text": action_id}}],
        }

    @staticmethod
    def signed_request(signing_secret: str, payload: dict[str, Any], *, timestamp: int | None = None,
                       forge: bool = False) -> tuple[bytes, dict[str, str]]:
        """(form body, headers) of an interactivity request, signed as Slack signs it
        (``slack_sdk.signature.SignatureVerifier``: v0 HMAC-SHA256 of ``v0:{timestamp}:{body}``)."""
        from urllib.parse import urlencode

        from slack_sdk.signature import SignatureVerifier

        body = urlencode({"payload": json.dumps(payload)}).encode()
        timestamp = int(time.time()) if timestamp is None else int(timestamp)
        secret = signing_secret + ("-forged" if forge else "")
        signature = SignatureVerifier(secret).generate_signature(timestamp=str(timestamp), body=body)
        return body, {"X-Slack-Request-Timestamp": str(timestamp), "X-Slack-Signature": signature,
                      "Content-Type": "application/x-www-form-urlencoded"}

    def _web_api(self, request: Request, method: str) -> Response:
        if method not in ("chat.postMessage", "auth.test"):
            return Response(404, {"ok": False, "error": "unknown_method", "req_method": method})
        try:
            if request.content_type == "application/json":
                args = request.json() if request.body.strip() else {}
            else:
                args = request.form()
        except ValueError:
            return Response(200, {"ok": False, "error": "invalid_json"})
        if not isinstance(args, dict):
            return Response(200, {"ok": False, "error": "invalid_arguments"})
        header = request.headers.get("Authorization") or ""
        token = header[len("Bearer "):] if header.startswith("Bearer ") else args.get("token")
        if not token:
            return Response(200, {"ok": False, "error": "not_authed"})
        if not hmac.compare_digest(str(token), self.token):
            return Response(200, {"ok": False, "error": "invalid_auth"})
        if method == "auth.test":
            return Response(200, {"ok": True, "url": self.base_url + "/", "team": "Tocsin Stand-in",
                                  "user": "tocsin", "team_id": self.TEAM_ID, "user_id": self.USER_ID,
                                  "bot_id": self.BOT_ID, "is_enterprise_install": False})
        return self._post_message(args)

    def _post_message(self, args: dict[str, Any]) -> Response:
        channel = str(args.get("channel") or "")
        text, blocks, attachments = args.get("text"), args.get("blocks"), args.get("attachments")
        if isinstance(blocks, str):  # form-encoded requests carry blocks as a JSON string
            try:
                blocks = json.loads(blocks)
            except ValueError:
                return Response(200, {"ok": False, "error": "invalid_blocks_format"})
        if not channel:
            return Response(200, {"ok": False, "error": "channel_not_found"})
        if not text and not blocks and not attachments:
            return Response(200, {"ok": False, "error": "no_text"})
        if text and len(text) > 40000:
            return Response(200, {"ok": False, "error": "msg_too_long"})
        channel_id = channel if re.match(r"^[CGD][A-Z0-9]{6,}$", channel) else (
            "C" + hashlib.sha1(channel.encode(), usedforsecurity=False).hexdigest()[:10].upper())
        ts = f"{int(time.time())}.{next(self._ts_seq):06d}"
        message = {"type": "message", "text": text or "", "user": self.USER_ID, "bot_id": self.BOT_ID,
                   "team": self.TEAM_ID, "ts": ts}
        if blocks:
            message["blocks"] = blocks
        if attachments:
            message["attachments"] = attachments
        if args.get("thread_ts"):
            message["thread_ts"] = args["thread_ts"]
        self._record({"kind": "chat.postMessage", "channel": channel, "channel_id": channel_id,
                      "text": text, "blocks": blocks, "attachments": attachments,
                      "thread_ts": args.get("thread_ts"), "ts": ts})
        return Response(200, {"ok": True, "channel": channel_id, "ts": ts, "message": message})

    def _webhook(self, request: Request) -> Response:
        if request.method != "POST" or request.path != self.webhook_path:
            return self._hook_error("no_service")
        try:
            payload = request.json()
        except ValueError:
            return self._hook_error("invalid_payload")
        if not isinstance(payload, dict):
            return self._hook_error("invalid_payload")
        if not payload.get("text") and not payload.get("blocks") and not payload.get("attachments"):
            return self._hook_error("no_text")
        self._record({"kind": "webhook", "path": request.path, "text": payload.get("text"),
                      "blocks": payload.get("blocks"), "attachments": payload.get("attachments"),
                      "json": payload})
        return Response(200, "ok", content_type="text/html")

    @staticmethod
    def _hook_error(error: str, status: int | None = None) -> Response:
        return Response(status or _SLACK_HOOK_ERRORS.get(error, 400), error, content_type="text/html")

    def _failure_response(self, failure: Failure, request: Request) -> Response:
        kw = failure.kw
        hook = request.path.startswith("/services/")
        if failure.mode == "error":
            error = kw.get("error", "channel_not_found")
            if hook:
                return self._hook_error(error, kw.get("status"))
            return Response(200, {"ok": False, "error": error})
        if failure.mode == "rate_limit":
            headers = _retry_after_headers(kw, default=1)
            if hook:
                return Response(429, "rate_limited", headers=headers, content_type="text/html")
            return Response(429, {"ok": False, "error": "ratelimited"}, headers=headers)
        status = int(kw.get("status", 500))
        if "body" in kw:
            return Response(status, kw["body"], content_type=kw.get("content_type", "text/html; charset=utf-8"),
                            headers=_retry_after_headers(kw))
        if hook:
            return Response(status, "rollup_error" if status == 500 else "service_unavailable",
                            content_type="text/html", headers=_retry_after_headers(kw))
        error = "fatal_error" if status == 500 else "service_unavailable"
        return Response(status, {"ok": False, "error": error}, headers=_retry_after_headers(kw))


# ---------------------------------------------------------------------------------------
# Signed webhooks (Tocsin → customer endpoints)
# ---------------------------------------------------------------------------------------


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The ``X-Tocsin-Signature`` value: ``v1=<hex HMAC-SHA256(secret, f"{timestamp}." + body)>``."""
    digest = hmac.new(secret.encode("utf-8"), f"{int(timestamp)}.".encode() + body, hashlib.sha256)
    return "v1=" + digest.hexdigest()


class WebhookReceiver(_HttpStandIn):
    """A customer endpoint receiving Tocsin's signed webhooks on any path (POST).

    Verifies ``X-Tocsin-Signature`` (one or more comma-separated ``v1=`` values; any may
    match) over ``X-Tocsin-Timestamp`` and the raw body, and rejects timestamps more than
    ``tolerance_seconds`` (300) away from now, either way. With ``require_signature=True``
    an unverified request gets 401 ``{"error": reason}``; otherwise it is recorded with
    ``verified: False``. A body that is not JSON is recorded with ``json: None``.

    Failure modes: ``"status"`` (``status``, default 500; optional ``retry_after`` header
    and raw ``body``), ``"timeout"``, ``"disconnect"``.
    Recorded messages: {"path", "json", "headers", "verified", "at"} (headers minus
    Authorization/Cookie), plus "body" (raw text) and "form" (dict for form-encoded bodies).
    """

    MODES = ("status",)
    _HIDDEN_HEADERS = {"authorization", "cookie", "proxy-authorization"}

    def __init__(self, secret: str = DEFAULT_WEBHOOK_SECRET, require_signature: bool = True,
                 tolerance_seconds: int = 300, success_status: int = 200) -> None:
        super().__init__()
        self.secret = secret
        self.require_signature = require_signature
        self.tolerance_seconds = tolerance_seconds
        self.success_status = success_status

    def __repr__(self) -> str:
        return f"<WebhookReceiver at {self.port}>"

    def url(self, path: str = "/hook") -> str:
        return self.base_url + (path if path.startswith("/") else "/" + path)

    def verify(self, headers: Any, body: bytes) -> tuple[bool, str]:
        """(verified, reason) for a request's headers and raw body."""
        timestamp, signature = headers.get(TIMESTAMP_HEADER), headers.get(SIGNATURE_HEADER)
        if not timestamp or not signature:
            return False, "missing signature"
        try:
            stamp = int(timestamp)
        except ValueError:
            return False, "malformed timestamp"
        if abs(time.time() - stamp) > self.tolerance_seconds:
            return False, "stale timestamp"
        expected = sign(self.secret, stamp, body)
        if not any(hmac.compare_digest(part.strip(), expected) for part in signature.split(",")):
            return False, "bad signature"
        return True, "ok"

    def _handle(self, request: Request) -> Response:
        if request.method != "POST":
            return Response(405, {"error": "method not allowed"}, headers={"Allow": "POST"})
        verified, reason = self.verify(request.headers, request.body)
        if self.require_signature and not verified:
            return Response(401, {"error": reason})
        try:
            payload = request.json()
        except ValueError:  # not JSON: keep it readable for tests posting forms (e.g. Twilio callbacks)
            payload = None
        headers = {k: v for k, v in request.headers.items() if k.lower() not in self._HIDDEN_HEADERS}
        self._record({
            "path": request.path, "json": payload, "headers": headers, "verified": verified,
            "body": request.body.decode("utf-8", "replace"),
            "form": request.form() if request.content_type == "application/x-www-form-urlencoded" else None,
        })
        return Response(self.success_status, {"received": True})

    def _failure_response(self, failure: Failure, request: Request) -> Response:
        kw = failure.kw
        status = int(kw.get("status", 500))
        body = kw.get("body", {"error": f"stand-in failure {status}"})
        content_type = kw.get("content_type", "application/json; charset=utf-8" if isinstance(body, dict)
                              else "text/plain; charset=utf-8")
        return Response(status, body, headers=_retry_after_headers(kw), content_type=content_type)


# ---------------------------------------------------------------------------------------
# SMTP
# ---------------------------------------------------------------------------------------


def _lf(text: str) -> str:
    return text.replace("\r\n", "\n")


class _SmtpHandler:
    """aiosmtpd handler: records messages, applies the stand-in's failure script."""

    def __init__(self, standin: SmtpStandIn) -> None:
        self.standin = standin

    async def _suffer(self, server: Any, envelope: Any, stage: str) -> str | None:
        """The SMTP reply for a scripted failure at this stage, or None to carry on."""
        failure: Failure | None = getattr(envelope, "standin_failure", None)
        if failure is None or failure.kw.get("stage", "data") != stage:
            return None
        if failure.mode == "reject":
            code = int(failure.kw.get("code", 451))
            default = "4.3.0 Temporary failure, try again later" if code < 500 else "5.7.1 Message rejected"
            return f"{code} {failure.kw.get('message', default)}"
        if failure.mode == "timeout":
            await asyncio.sleep(float(failure.kw.get("seconds", 5)))
        # "disconnect" (and a timeout that outlived the client): hang up without a reply
        server.transport.close()
        return "421 4.4.2 Connection dropped"  # never reaches the client: the transport is closed

    async def handle_MAIL(self, server, session, envelope, address, mail_options):  # noqa: N802
        failure = self.standin._count_request()
        envelope.standin_failure = failure
        self.standin._log_request(command="MAIL", failure=failure.mode if failure else None)
        reply = await self._suffer(server, envelope, "mail")
        if reply is not None:
            return reply
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 2.1.0 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        reply = await self._suffer(server, envelope, "rcpt")
        if reply is not None:
            return reply
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        if self.standin.delay_seconds:
            await asyncio.sleep(self.standin.delay_seconds)
        reply = await self._suffer(server, envelope, "data")
        if reply is not None:
            return reply
        raw = envelope.original_content or envelope.content
        if isinstance(raw, str):
            raw = raw.encode("utf-8")
        parsed = message_from_bytes(raw, policy=email_policy.default)
        text = parsed.get_body(preferencelist=("plain",))
        html = parsed.get_body(preferencelist=("html",))
        queue_id = secrets.token_hex(5).upper()
        self.standin._record({
            "from": envelope.mail_from, "to": list(envelope.rcpt_tos), "subject": str(parsed.get("Subject", "")),
            "body": _lf(text.get_content()) if text is not None else "",
            "html": _lf(html.get_content()) if html is not None else None,
            "message_id": parsed.get("Message-ID"), "queue_id": queue_id,
            "headers": {k: str(v) for k, v in parsed.items()},
        })
        return f"250 2.0.0 Ok: queued as {queue_id}"


class SmtpStandIn(_Recorder):
    """An SMTP server (aiosmtpd) on 127.0.0.1:<free port>. No TLS, no AUTH.

    Failure modes, consumed one per mail transaction (MAIL FROM), at ``stage`` ∈ {"mail",
    "rcpt", "data"} (default "data"):

    * ``"reject"`` with ``code`` (451 transient, 550 permanent, ...) and optional ``message``;
    * ``"disconnect"``: close the connection instead of replying;
    * ``"timeout"``: stay silent ``seconds`` (default 5), then close.

    Recorded messages: {"from", "to" (list), "subject", "body" (text part), "html",
    "message_id", "queue_id", "headers", "at"}.
    """

    MODES = ("reject", "disconnect", "timeout")

    def __init__(self, hostname: str = "127.0.0.1") -> None:
        super().__init__()
        self.host = hostname
        self.port: int | None = None
        self._controller = None

    def __repr__(self) -> str:
        return f"<SmtpStandIn at {self.port}>"

    @property
    def email_url(self) -> str:
        """For Tocsin's ``EMAIL_URL`` setting (django-environ): plain SMTP, no auth."""
        if self.port is None:
            raise RuntimeError("SmtpStandIn is not started")
        return f"smtp://{self.host}:{self.port}"

    def fail_next(self, n: int, mode: str, **kw: Any) -> None:
        self._check_stage(kw)
        super().fail_next(n, mode, **kw)

    def fail_always(self, mode: str, **kw: Any) -> None:
        self._check_stage(kw)
        super().fail_always(mode, **kw)

    @staticmethod
    def _check_stage(kw: dict[str, Any]) -> None:
        if kw.get("stage", "data") not in ("mail", "rcpt", "data"):
            raise ValueError("stage must be 'mail', 'rcpt' or 'data'")

    def start(self):
        if self._controller is not None:
            return self
        from aiosmtpd.controller import Controller

        class FreePortController(Controller):
            """Binds port 0 and learns the port before aiosmtpd's start-up probe connects."""

            def _create_server(self):
                return self._bind()

            async def _bind(self):
                server = await self.loop.create_server(self._factory_invoker, host=self.hostname, port=0)
                self.port = server.sockets[0].getsockname()[1]
                return server

        self._stopping.clear()
        controller = FreePortController(_SmtpHandler(self), hostname=self.host, port=0,
                                        server_hostname="smtp.standin.test", ready_timeout=5)
        logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd echoes every command at INFO
        controller.start()
        self._controller = controller
        self.port = controller.port
        return self

    def stop(self) -> None:
        controller, self._controller = self._controller, None
        if controller is None:
            return
        self._stopping.set()
        controller.stop()
