"""A small JSON-over-HTTP client on the standard library, and the server's error classes.

``urllib`` keeps the agent's footprint small and honours the site's ``https_proxy``. Every
outcome is sorted into one of a few classes here, because what the agent does next depends
only on that: retry later, park the item for good, or stop because the device is revoked.
"""

from __future__ import annotations

import http.client
import json
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from device_agent import __version__

USER_AGENT = f"tocsin-agent/{__version__}"


class ApiError(Exception):
    """Base of everything the server (or the way to it) can answer besides success."""


class TransientApiError(ApiError):
    """Worth retrying later: the network, a timeout, a 5xx, a 429 (with its Retry-After)."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class AuthenticationFailed(TransientApiError):
    """The server refused the device's credentials even after a fresh challenge."""


class RejectedRequest(ApiError):
    """A 4xx that will never succeed as sent: the item is parked with this reason."""

    def __init__(self, status: int, code: str, message: str, fields: Any = None) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.fields = fields

    def reason(self) -> str:
        detail = f" {json.dumps(self.fields, sort_keys=True)}" if self.fields else ""
        return f"{self}{detail}"


class DeviceRevoked(ApiError):
    """The server revoked this device: nothing more may be sent until it is re-enrolled."""


class NotEnrolled(ApiError):
    """The device has no identity on the server yet."""


@dataclass(frozen=True)
class HttpResponse:
    status: int
    body: Any
    headers: Mapping[str, str]

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def error_detail(self) -> tuple[str, str, Any]:
        """(code, message, fields) from the server's ``{"error": {...}}`` envelope."""
        error = self.body.get("error") if isinstance(self.body, dict) else None
        if not isinstance(error, dict):
            return f"http_{self.status}", "no error detail in the response", None
        return (
            str(error.get("code") or f"http_{self.status}"),
            str(error.get("message") or ""),
            error.get("fields"),
        )

    def to_error(self) -> ApiError:
        """Sort a non-2xx answer into the class that decides what happens next."""
        code, message, fields = self.error_detail()
        if self.status == 429:
            return TransientApiError(
                f"429 throttled: {message}", retry_after=_retry_after(self.headers)
            )
        if self.status == 408 or self.status >= 500:
            return TransientApiError(
                f"{self.status} {code}: {message}", retry_after=_retry_after(self.headers)
            )
        if self.status == 403 and code == "device_revoked":
            return DeviceRevoked(message or "device revoked")
        if self.status == 401:
            return AuthenticationFailed(f"401 {code}: {message}")
        return RejectedRequest(self.status, code, message, fields)


def _retry_after(headers: Mapping[str, str]) -> float | None:
    value = headers.get("Retry-After") or headers.get("retry-after")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


class HttpClient:
    """Sends JSON to ``base_url`` and returns parsed answers; network failures raise."""

    def __init__(self, base_url: str, timeout: float, server_clock: Any = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._opener = urllib.request.build_opener()
        # A ServerClock (device_agent/clock.py): every answer tells it the server's time.
        self.server_clock = server_clock

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        token: str | None = None,
        timeout: float | None = None,
    ) -> HttpResponse:
        headers = {"Accept": "application/json", "User-Agent": USER_AGENT}
        data = None
        if body is not None:
            data = json.dumps(body, separators=(",", ":")).encode("utf-8")
            headers["Content-Type"] = "application/json"
        if token:
            headers["Authorization"] = f"Bearer {token}"
        # The base URL is validated as http(s) when the config is loaded.
        request = urllib.request.Request(  # noqa: S310
            self.base_url + path, data=data, headers=headers, method=method
        )
        sent_at = time.time()
        try:
            with self._opener.open(request, timeout=timeout or self.timeout) as answer:
                response = HttpResponse(answer.status, _json_or_none(answer.read()), answer.headers)
        except urllib.error.HTTPError as answer:
            with answer:
                raw = answer.read()
            response = HttpResponse(answer.code, _json_or_none(raw), answer.headers)
        except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", None) or exc
            raise TransientApiError(
                f"{method} {path}: server unreachable ({type(exc).__name__}: {reason})"
            ) from None
        if self.server_clock is not None:
            self.server_clock.observe(response.headers, sent_at, time.time())
        return response


def _json_or_none(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return None
