"""Enrolment, token renewal by challenge, and revocation, against the stand-in server."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from device_agent.device_api import DeviceSession, needs_renewal
from device_agent.http_client import (
    DeviceRevoked,
    HttpClient,
    NotEnrolled,
    RejectedRequest,
    TransientApiError,
)
from device_agent.identity import DeviceKey, IdentityState, IdentityStore
from tests.device_agent.standin_server import StandinServer


def make_session(state_dir: Path, url: str, clock=time.time) -> DeviceSession:
    return DeviceSession(
        HttpClient(url, 2.0),
        DeviceKey.load_or_create(str(state_dir), isolated=False),
        IdentityStore(str(state_dir), hardware_id="hw-1"),
        model="pi4",
        kind="scanner",
        clock=clock,
    )


def test_enrolment_proves_the_key_and_stores_the_identity(tmp_path: Path,
                                                          standin: StandinServer) -> None:
    token = standin.state.issue_setup_token("loc-1")
    session = make_session(tmp_path, standin.url)
    state = session.enroll(token, "loc-1")
    assert state.device_id == "dev-1" and state.location_id == "loc-1" and state.access
    device = standin.state.devices["dev-1"]
    assert device["hardware_id"] == "hw-1" and device["kind"] == "scanner"
    assert IdentityStore(str(tmp_path)).state.device_id == "dev-1"
    assert session.fetch_me()["config"]["underage_age"] == 21


def test_a_refused_enrolment_says_so(tmp_path: Path, standin: StandinServer) -> None:
    session = make_session(tmp_path, standin.url)
    with pytest.raises(RejectedRequest) as refused:
        session.enroll("not-a-token", "loc-1")
    assert (refused.value.status, refused.value.code) == (403, "enrollment_refused")
    assert not session.state.enrolled


def test_an_unreachable_server_is_transient(tmp_path: Path) -> None:
    from tests.support.agent import free_port

    session = make_session(tmp_path, f"http://127.0.0.1:{free_port()}")
    with pytest.raises(TransientApiError, match="server unreachable"):
        session.enroll("token", "loc-1")


def test_calls_before_enrolment_are_refused_locally(tmp_path: Path, standin: StandinServer) -> None:
    with pytest.raises(NotEnrolled):
        make_session(tmp_path, standin.url).fetch_me()
    assert standin.state.requests == []


def test_the_token_is_renewed_by_challenge_before_it_expires(tmp_path: Path,
                                                             standin: StandinServer) -> None:
    standin.state.token_lifetime = 100.0
    now = [time.time()]
    session = make_session(tmp_path, standin.url, clock=lambda: now[0])
    session.enroll(standin.state.issue_setup_token(), "loc-1")
    first = session.state.access
    now[0] += 85  # 15% of the lifetime left: keep the token
    session.fetch_me()
    assert standin.state.renewals == 0
    now[0] += 6  # 9% left: renew first
    session.fetch_me()
    assert standin.state.renewals == 1 and session.state.access != first


def test_renewal_margin_is_a_tenth_of_the_lifetime_at_most_an_hour() -> None:
    day = IdentityState("hw", "d", access="t", access_received_at=0.0, access_expires_at=86400.0)
    assert not needs_renewal(day, 86400.0 - 3601)
    assert needs_renewal(day, 86400.0 - 3599)
    assert needs_renewal(IdentityState("hw", "d"), 0.0)


def test_a_401_renews_once_and_retries(tmp_path: Path, standin: StandinServer) -> None:
    session = make_session(tmp_path, standin.url)
    session.enroll(standin.state.issue_setup_token(), "loc-1")
    standin.state.expire_tokens()
    assert session.fetch_me()["device_id"] == "dev-1"
    assert standin.state.renewals == 1


def test_a_401_after_another_thread_renewed_retries_without_renewing_again(
        tmp_path: Path, standin: StandinServer) -> None:
    session = make_session(tmp_path, standin.url)
    session.enroll(standin.state.issue_setup_token(), "loc-1")
    send = session.http.request
    raced = []

    def request_racing_a_renewal(method, path, body=None, **kwargs):
        if path.endswith("/devices/me/") and not raced:
            raced.append(kwargs["token"])
            session.renew_token()  # another thread renews while this request is on its way
        return send(method, path, body, **kwargs)

    session.http.request = request_racing_a_renewal
    assert session.fetch_me()["device_id"] == "dev-1"
    assert standin.state.renewals == 1 and raced[0] != session.state.access


def test_revocation_stops_the_device_and_is_remembered(tmp_path: Path,
                                                       standin: StandinServer) -> None:
    session = make_session(tmp_path, standin.url)
    session.enroll(standin.state.issue_setup_token(), "loc-1")
    standin.state.revoke("dev-1")
    with pytest.raises(DeviceRevoked):
        session.fetch_me()
    assert IdentityStore(str(tmp_path)).state.revoked
    requests_before = len(standin.state.requests)
    with pytest.raises(DeviceRevoked):
        session.fetch_me()
    assert len(standin.state.requests) == requests_before, "nothing more is sent"
    session.enroll(standin.state.issue_setup_token(), "loc-1")
    assert not session.state.revoked and session.fetch_me()["device_id"] == "dev-1"


def test_a_server_error_with_retry_after_is_transient(tmp_path: Path,
                                                      standin: StandinServer) -> None:
    session = make_session(tmp_path, standin.url)
    session.enroll(standin.state.issue_setup_token(), "loc-1")
    standin.state.fail("/api/v1/devices/me/", 429, retry_after=7)
    with pytest.raises(TransientApiError) as throttled:
        session.fetch_me()
    assert throttled.value.retry_after == 7.0
