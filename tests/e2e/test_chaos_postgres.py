"""Chaos: PostgreSQL stopped for 8 s and started again under device load.

A private PostgreSQL holding a copy of the test database and a gunicorn web server on it,
both started by the test; 20 device requests per second. While the database is down the
API answers 503 with Retry-After (never a 500, never a hang); devices resend what was
refused, as the agent's outbox does; every alert accepted is stored, and every alert sent
is accepted in the end. Prints the statuses.
"""

from __future__ import annotations

import time

import psycopg
import pytest
import requests
from django.utils import timezone

from apps.devices.device_tokens import issue_device_token
from tests.factories import DeviceFactory
from tests.support import processes
from tests.support.load import DeviceLoad, summary
from tests.support.processes import PostgresServerProcess, WebProcess

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True), pytest.mark.timeout(240)]

OUTAGE_SECONDS = 8


def _resend(base_url: str, token: str, key: str) -> int:
    body = {"kind": "tamper", "dedup_key": key, "occurred_at": timezone.now().isoformat(),
            "details": {"note": "chaos test"}}
    return requests.post(f"{base_url}/api/v1/device-alerts/", json=body, timeout=10,
                         headers={"Authorization": f"Bearer {token}"}).status_code


def test_postgres_restart_answers_503_with_retry_after_and_loses_nothing(world_a, tmp_path, capsys):
    tokens = [issue_device_token(DeviceFactory(site=world_a.site))[0] for _ in range(4)]
    database = PostgresServerProcess().start()
    try:
        database.copy_database(processes.test_database_url())
        web = WebProcess(tmp_path / "web.log", workers=2, env_overrides={
            "DATABASE_URL": database.url, "DATABASE_CONNECT_TIMEOUT": "2"}).start()
        load = DeviceLoad(web.url, tokens, rate=20, timeout=10)
        try:
            load.start()
            time.sleep(3)
            database.stop()
            outage_started = time.monotonic()
            time.sleep(OUTAGE_SECONDS)
            database.restart_after_stop()
            outage_ended = time.monotonic()
            time.sleep(5)
            outcomes = load.stop()
            refused = [o for o in outcomes if o.kind == "alert" and o.status != 201]
            token_of = dict(zip(range(len(tokens)), tokens, strict=True))
            resent = {o.dedup_key: _resend(web.url, token_of[0], o.dedup_key) for o in refused}
        finally:
            load.stop()
            web.stop()
        with psycopg.connect(host=database.socket_dir, user="postgres", dbname=database.dbname) as conn:
            stored = conn.execute("SELECT count(*) FROM alerts_alert WHERE kind = 'tamper'").fetchone()[0]
    finally:
        database.destroy()

    during = [o for o in outcomes if outage_started <= o.started < outage_ended]
    sent_keys = {o.dedup_key for o in outcomes if o.kind == "alert"}
    unavailable = [o for o in outcomes if o.status == 503]
    with capsys.disabled():
        print(f"\n[postgres restart {OUTAGE_SECONDS}s] all: {summary(outcomes)}")
        print(f"[postgres restart {OUTAGE_SECONDS}s] during: {summary(during)}")
        print(f"[postgres restart {OUTAGE_SECONDS}s] alerts sent={len(sent_keys)} refused then resent="
              f"{len(resent)} stored={stored} lost={len(sent_keys) - stored}")
    assert {o.status for o in outcomes} <= {200, 201, 202, 503}, summary(outcomes)
    assert unavailable, "the outage was not seen"
    assert all(o.retry_after == "5" for o in unavailable)
    assert max(o.seconds for o in outcomes) < 5, summary(during)  # a refusal, never a hang
    assert set(resent.values()) <= {201}
    assert stored == len(sent_keys)
