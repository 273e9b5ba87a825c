"""The device API as seen by one device: enrolment, token renewal and authorised calls.

No long-lived shared secret exists: the access token is short-lived and is renewed by
signing a fresh server challenge with the device key. A renewal kills the token it
replaces, so a 401 triggers at most one renewal (none if another thread already renewed)
and one retry; a revocation answer stops the device for good until staff re-admit it.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import Any, Callable

from device_agent.http_client import (
    AuthenticationFailed,
    DeviceRevoked,
    HttpClient,
    HttpResponse,
    NotEnrolled,
    RejectedRequest,
    TransientApiError,
)
from device_agent.identity import DeviceKey, IdentityState, IdentityStore
from device_agent.timeutil import parse_iso_epoch

log = logging.getLogger(__name__)

ENROLL_PATH = "/api/v1/devices/enroll/"
ENROLL_COMPLETE_PATH = "/api/v1/devices/enroll/complete/"
CHALLENGE_PATH = "/api/v1/devices/challenge/"
TOKEN_PATH = "/api/v1/devices/token/"  # noqa: S105 (a URL path, not a secret)
ME_PATH = "/api/v1/devices/me/"
HEARTBEATS_PATH = "/api/v1/heartbeats/"
SCAN_BATCH_PATH = "/api/v1/scans/batch/"
TELEMETRY_PATH = "/api/v1/telemetry/"
DEVICE_ALERTS_PATH = "/api/v1/device-alerts/"
KEY_PATH = "/api/v1/devices/me/key/"

RENEWAL_FRACTION = 0.1
RENEWAL_MARGIN_CAP_SECONDS = 3600.0


def enrollment_message(enrollment_id: str, hardware_id: str, challenge: str) -> str:
    return f"tocsin-enroll-v1\n{enrollment_id}\n{hardware_id}\n{challenge}"


def token_message(challenge_id: str, device_id: str, challenge: str) -> str:
    return f"tocsin-token-v1\n{challenge_id}\n{device_id}\n{challenge}"


def needs_renewal(state: IdentityState, now: float) -> bool:
    """True once less than 10% of the token's lifetime (at most an hour) is left."""
    if not state.access or state.access_expires_at is None:
        return True
    received = state.access_received_at if state.access_received_at is not None else now
    lifetime = max(0.0, state.access_expires_at - received)
    margin = min(RENEWAL_FRACTION * lifetime, RENEWAL_MARGIN_CAP_SECONDS)
    return now >= state.access_expires_at - margin


class DeviceSession:
    """Calls the device API as this device; safe to share between threads."""

    def __init__(
        self,
        http: HttpClient,
        key: DeviceKey,
        identity: IdentityStore,
        *,
        model: str,
        kind: str,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.http = http
        self.key = key
        self.identity = identity
        self.model = model
        self.kind = kind
        self._clock = clock
        self._renew_lock = threading.Lock()

    @property
    def state(self) -> IdentityState:
        return self.identity.state

    def enroll(
        self, setup_token: str, location_id: str, location_label: str | None = None
    ) -> IdentityState:
        """Run both enrolment phases; raises RejectedRequest when the server refuses.
        ``location_label`` (Room 305), when known, names the device's place in its site."""
        hardware_id = self.state.hardware_id
        body = {
            "setup_token": setup_token,
            "location_id": location_id,
            "hardware_id": hardware_id,
            "model": self.model,
            "kind": self.kind,
            "public_key": self.key.public_key_b64(),
        }
        if location_label:
            body["location_label"] = location_label
        started = self.http.request("POST", ENROLL_PATH, body)
        if not started.ok:
            raise started.to_error()
        enrollment_id = _answer_field(started, "enrollment_id")
        signature = self.key.sign_b64(
            enrollment_message(enrollment_id, hardware_id, _answer_field(started, "challenge"))
        )
        completed = self.http.request(
            "POST", ENROLL_COMPLETE_PATH, {"enrollment_id": enrollment_id, "signature": signature}
        )
        if not completed.ok:
            raise completed.to_error()
        state = self.identity.update(
            device_id=_answer_field(completed, "device_id"),
            location_id=location_id,
            revoked=False,
            **self._token_fields(completed),
        )
        log.info(
            "device enrolled",
            extra={"fields": {"device_id": state.device_id, "location_id": location_id}},
        )
        return state

    def renew_token(self) -> None:
        """Prove possession of the key to get a fresh access token."""
        state = self.state
        if not state.enrolled:
            raise NotEnrolled("the device is not enrolled")
        device_id = str(state.device_id)
        issued = self.http.request("POST", CHALLENGE_PATH, {"device_id": device_id})
        if not issued.ok:
            self._raise_renewal_error(issued)
        challenge_id = _answer_field(issued, "challenge_id")
        signature = self.key.sign_b64(
            token_message(challenge_id, device_id, _answer_field(issued, "challenge"))
        )
        granted = self.http.request(
            "POST",
            TOKEN_PATH,
            {"device_id": device_id, "challenge_id": challenge_id, "signature": signature},
        )
        if not granted.ok:
            self._raise_renewal_error(granted)
        self.identity.update(**self._token_fields(granted))
        log.info("access token renewed", extra={"fields": {"device_id": device_id}})

    def call(
        self, method: str, path: str, body: Any = None, *, timeout: float | None = None
    ) -> HttpResponse:
        """An authorised request; returns 2xx answers and raises the error class otherwise."""
        self._ensure_fresh_token()
        response, used = self._send(method, path, body, timeout)
        if response.status == 401:
            with self._renew_lock:
                # A renewal kills the token it replaces: if another thread renewed while this
                # request was out, its token is the one to retry with, not a reason to renew again.
                if self.state.access == used:
                    self.renew_token()
            response, _ = self._send(method, path, body, timeout)
        if response.ok:
            return response
        error = response.to_error()
        if isinstance(error, DeviceRevoked):
            self._mark_revoked()
        raise error

    def rotate_key(self) -> dict:
        """Make a new key, prove it to the server, then keep it (the `rotate_key` command).

        The new key is written beside the old one and moved over it only after the server
        accepted it; if the server refuses, the old key stays and nothing changed."""
        new = DeviceKey(self.key.path + ".new", isolated=self.key.isolated)
        if os.path.exists(new.path):
            os.remove(new.path)  # left by an interrupted rotation the server never accepted
        new._run("create")
        try:
            public_key = new.public_key_b64()
            message = f"tocsin-rotate-v1\n{self.state.device_id}\n{public_key}"
            answer = self.call(
                "POST", KEY_PATH, {"public_key": public_key, "signature": new.sign_b64(message)}
            )
        except Exception:
            os.remove(new.path)
            raise
        os.replace(new.path, self.key.path)
        self.identity.update(**self._token_fields(answer))
        log.info("device key rotated", extra={"fields": {"device_id": self.state.device_id}})
        return {"rotated": True}

    def fetch_me(self, *, timeout: float | None = None) -> Any:
        return self.call("GET", ME_PATH, timeout=timeout).body

    def _send(
        self, method: str, path: str, body: Any, timeout: float | None
    ) -> tuple[HttpResponse, str | None]:
        """The answer, and the access token the request carried."""
        state = self.state
        if state.revoked:
            raise DeviceRevoked("device revoked; staff must re-admit it before it can re-enrol")
        response = self.http.request(method, path, body, token=state.access, timeout=timeout)
        return response, state.access

    def _ensure_fresh_token(self) -> None:
        state = self.state
        if not state.enrolled:
            raise NotEnrolled("the device is not enrolled")
        if state.revoked:
            raise DeviceRevoked("device revoked; staff must re-admit it before it can re-enrol")
        if not needs_renewal(state, self._clock()):
            return
        with self._renew_lock:
            if not needs_renewal(self.state, self._clock()):
                return
            try:
                self.renew_token()
            except TransientApiError as exc:
                still_valid = state.access and (state.access_expires_at or 0) > self._clock()
                if not still_valid:
                    raise
                log.warning(
                    "token renewal failed; using the current token until it expires",
                    extra={"fields": {"error": str(exc)}},
                )

    def _raise_renewal_error(self, response: HttpResponse) -> None:
        error = response.to_error()
        if isinstance(error, DeviceRevoked):
            self._mark_revoked()
            raise error
        if isinstance(error, RejectedRequest):
            raise AuthenticationFailed(f"token renewal refused: {error}")
        raise error

    def _mark_revoked(self) -> None:
        if not self.state.revoked:
            self.identity.update(revoked=True, access=None, access_expires_at=None)
            log.error(
                "device revoked by the server: sending stopped until re-admitted and re-enrolled",
                extra={"fields": {"device_id": self.state.device_id}},
            )

    def _token_fields(self, response: HttpResponse) -> dict:
        expires = _answer_field(response, "access_expires_at")
        try:
            expires_at = parse_iso_epoch(expires)
        except ValueError:
            raise TransientApiError(
                f"server sent a malformed access_expires_at: {expires!r}"
            ) from None
        return {
            "access": _answer_field(response, "access"),
            "access_expires_at": expires_at,
            "access_received_at": self._clock(),
        }


def _answer_field(response: HttpResponse, name: str) -> str:
    """A required string from a success answer; a server bug is retried, not a crash."""
    value = response.body.get(name) if isinstance(response.body, dict) else None
    if value is None:
        raise TransientApiError(f"server answer {response.status} lacks {name!r}")
    return str(value)
