"""/healthz, /readyz (with real dependencies, and with Redis stopped) and /metrics."""

from __future__ import annotations

import socket

import pytest

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _platform_beating():
    """Beat and a worker alive, so these tests see only the dependency checks
    (tests/operations covers the platform's own checks)."""
    from apps.operations.services import heartbeat_record

    heartbeat_record(name="beat", kind="beat")
    heartbeat_record(name="worker:w1@test", kind="worker")


def _dead_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # closed again on exit: nothing listens there


def test_healthz_is_alive(client):
    assert client.get("/healthz").json() == {"status": "ok"}


def test_readyz_is_ready_with_real_dependencies(client):
    response = client.get("/readyz")
    assert response.status_code == 200, response.json()
    assert response.json()["failed"] == []


def test_readyz_names_a_stopped_redis(client, settings):
    dead = f"redis://127.0.0.1:{_dead_port()}/0"
    settings.REDIS_URL = dead
    settings.TOCSIN_HEALTH_TIMEOUT_SECONDS = 0.5
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert "redis" in body["failed"]
    assert body["checks"]["database"]["ok"] is True


def test_readyz_names_a_stopped_broker(client, settings):
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{_dead_port()}/0"
    settings.TOCSIN_HEALTH_TIMEOUT_SECONDS = 0.5
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["failed"] == ["broker"]


def test_metrics_are_prometheus_text(client):
    client.get("/healthz")
    response = client.get("/metrics")
    assert response.status_code == 200
    assert b"django_http_requests_total_by_method_total" in response.content


def test_metrics_in_multiprocess_mode_keep_the_outbox_collector(client, monkeypatch, tmp_path):
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    response = client.get("/metrics")
    assert response.status_code == 200
    assert b"tocsin_notifications_dead_total" in response.content
