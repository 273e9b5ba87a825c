"""The sender: batching rules, immediate alerts, backoff, parking, revocation, offline."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest

from device_agent.alerts import device_alert
from device_agent.backoff import Backoff
from device_agent.outbox import HEARTBEAT, SCAN, NewItem, Outbox
from device_agent.runtime_status import RuntimeStatus
from device_agent.sender import Sender, SendPolicy
from tests.device_agent.standin_server import StandinServer
from tests.device_agent.test_device_api import make_session

SCANS = "/api/v1/scans/batch/"


class Harness:
    """An enrolled device's outbox and sender on a clock the test moves."""

    def __init__(self, tmp_path: Path, standin: StandinServer, **policy) -> None:
        self.standin = standin
        self.now = time.time()
        self.session = make_session(tmp_path, standin.url)
        self.session.enroll(standin.state.issue_setup_token(), "loc-1")
        self.outbox = Outbox(str(tmp_path / "outbox.sqlite3"))
        self.status = RuntimeStatus()
        self.policy = SendPolicy(**{"request_timeout_seconds": 1.0, **policy})
        self.sender = Sender(self.outbox, self.session, lambda: self.policy, self.status,
                             clock=lambda: self.now, rng=lambda: 1.0)

    def scan(self, age: float = 0.0, **payload) -> str:
        scan_id = str(uuid.uuid4())
        record = {"scan_id": scan_id, "scanned_at": "2024-01-01T00:00:00Z", "birth_year": 1990,
                  "age": 34, "is_underage": False, "is_valid": True, "document_expired": False}
        record.update(payload)
        self.outbox.put(NewItem(kind=SCAN, item_id=scan_id, occurred_at=self.now - age,
                                payload=record))
        return scan_id

    def heartbeat(self, age: float = 0.0) -> None:
        self.outbox.put(NewItem(kind=HEARTBEAT, item_id=str(uuid.uuid4()),
                                occurred_at=self.now - age, payload={"sent_at": "x"}))

    def alert(self, kind: str = "breach", urgent: bool = False) -> None:
        self.outbox.put(device_alert(kind=kind, severity="high", dedup_key=f"{kind}:1",
                                     details={}, occurred_at=self.now, urgent=urgent))

    def posts(self, path: str) -> int:
        return self.standin.state.count("POST", path)


@pytest.fixture
def harness(tmp_path: Path, standin: StandinServer) -> Harness:
    return Harness(tmp_path, standin)


def test_scans_wait_for_a_full_batch(harness: Harness) -> None:
    for _ in range(9):
        harness.scan()
    assert harness.sender.send_due().acknowledged == 0
    assert harness.posts(SCANS) == 0
    harness.scan()
    assert harness.sender.send_due().acknowledged == 10
    assert harness.standin.state.scan_batches[0][1] == 10
    assert harness.outbox.counts().fresh == 0


def test_scans_go_when_the_oldest_reaches_the_timeout(harness: Harness) -> None:
    harness.scan(age=250)
    assert harness.sender.seconds_until_due() == pytest.approx(50, abs=1)
    harness.now += 50
    assert harness.sender.send_due().acknowledged == 1


def test_batch_upload_off_sends_each_scan_at_once(tmp_path: Path, standin: StandinServer) -> None:
    harness = Harness(tmp_path, standin, batch_upload=False)
    harness.scan()
    assert harness.sender.send_due().acknowledged == 1


def test_force_sends_the_held_batch(harness: Harness) -> None:
    harness.scan()
    assert harness.sender.send_due(force=True).acknowledged == 1


def test_underage_alert_skips_the_batch_and_goes_first(harness: Harness) -> None:
    harness.heartbeat(age=5)
    harness.scan(age=10)
    harness.alert("underage", urgent=True)
    report = harness.sender.send_due()
    assert report.acknowledged == 2
    kinds = [path for method, path, _ in harness.standin.state.requests if method == "POST"]
    assert kinds[-2:] == ["/api/v1/device-alerts/", "/api/v1/heartbeats/"]
    assert harness.outbox.counts().fresh == 1, "the scan still waits for its batch"


def test_server_errors_back_off_then_deliver_everything(harness: Harness) -> None:
    for _ in range(10):
        harness.scan()
    harness.standin.state.fail(SCANS, 500, times=3)
    for attempt in range(3):
        report = harness.sender.send_due()
        assert report.failed == 10 and report.acknowledged == 0
        assert harness.sender.send_due().failed == 0, "backing off: no immediate retry"
        harness.now += 2 ** attempt
    assert harness.status.offline, "three failures in a row: offline"
    assert "500" in (harness.status.last_error or "")
    assert harness.outbox.counts().retrying == 10
    assert harness.sender.send_due().acknowledged == 10
    assert not harness.status.offline
    assert len(harness.standin.state.scans) == 10


def test_429_waits_for_retry_after(harness: Harness) -> None:
    harness.heartbeat()
    harness.standin.state.fail("/api/v1/heartbeats/", 429, retry_after=20)
    assert harness.sender.send_due().failed == 1
    harness.now += 10
    assert harness.sender.send_due().acknowledged == 0
    assert harness.sender.seconds_until_due() == pytest.approx(10, abs=0.1)
    harness.now += 11
    assert harness.sender.send_due().acknowledged == 1


def test_a_timeout_is_retried_not_lost(harness: Harness) -> None:
    harness.heartbeat()
    harness.standin.state.fail("/api/v1/heartbeats/", 503, delay=2.0)
    report = harness.sender.send_due()
    assert report.failed == 1 and "timed out" in report.errors[0]
    harness.now += 5
    assert harness.sender.send_due().acknowledged == 1


def test_a_refusal_parks_the_items_with_the_reason(harness: Harness) -> None:
    harness.alert()
    harness.standin.state.fail("/api/v1/device-alerts/", 400)
    report = harness.sender.send_due()
    assert report.parked == 1
    assert harness.sender.send_due().parked == 0, "not retried"
    [(kind, _, reason)] = harness.outbox.parked_items(10)
    assert kind == "alert" and reason.startswith("400 injected")
    assert "parked 1 alert" in harness.status.last_error


def test_rejected_scans_are_parked_and_the_rest_acknowledged(harness: Harness) -> None:
    good = [harness.scan() for _ in range(8)]
    bad = harness.scan(birth_year="1990")
    harness.scan(age=1, scan_id=good[0])  # a duplicate of an accepted scan id
    report = harness.sender.send_due()
    assert report.acknowledged == 9 and report.parked == 1
    assert set(harness.standin.state.scans) == set(good)
    [(_, item_id, reason)] = harness.outbox.parked_items(10)
    assert item_id == bad and "birth_year" in reason


def test_too_large_requests_are_split(harness: Harness) -> None:
    for _ in range(10):
        harness.scan()
    harness.standin.state.fail(SCANS, 413)
    assert harness.sender.send_due().acknowledged == 10
    assert [size for _, size in harness.standin.state.scan_batches] == [5, 5]


def test_revocation_stops_sending(harness: Harness) -> None:
    harness.standin.state.revoke("dev-1")
    harness.heartbeat()
    report = harness.sender.send_due()
    assert report.stopped_by == "DeviceRevoked"
    assert harness.session.state.revoked
    requests = len(harness.standin.state.requests)
    assert harness.sender.send_due().stopped_by == "DeviceRevoked"
    assert len(harness.standin.state.requests) == requests
    assert harness.outbox.counts().fresh == 1, "kept, in case the device is re-enrolled"


def test_offline_queue_off_drops_heartbeats_but_never_scans(tmp_path: Path,
                                                            standin: StandinServer) -> None:
    harness = Harness(tmp_path, standin, offline_queue=False, retry_attempts=1)
    harness.heartbeat()
    for _ in range(10):
        harness.scan()
    standin.state.fail("/api/v1/", 503, times=10)
    report = harness.sender.send_due()
    assert report.dropped == 1
    counts = harness.outbox.counts()
    assert counts.fresh + counts.retrying == 10


def test_backoff_doubles_with_jitter_and_caps_at_five_minutes() -> None:
    values = iter([0.0, 1.0] * 20)
    backoff = Backoff(rng=lambda: next(values))
    delays = [backoff.failed(0.0) for _ in range(12)]
    assert delays[:4] == [0.5, 2.0, 2.0, 8.0]
    assert max(delays) == 300.0
    assert backoff.failed(0.0, retry_after=1000) == 300.0
    backoff.succeeded()
    assert backoff.ready(0.0)
