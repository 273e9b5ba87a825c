"""The real agent against a live Tocsin: desired config reaching it through the shadow, its
commands, its backlog in the admin and the backlog alert, and a clock two days off."""

from __future__ import annotations

import random
import subprocess
import time
from datetime import date, timedelta

import pytest
from django.test import Client
from django.utils import timezone

from agent_tools.synthetic_licences import random_licence
from apps.alerts.models import Alert
from apps.audit.services import Actor
from apps.devices.commands import command_send, commands_expire
from apps.devices.models import Device, DeviceCommand
from apps.devices.shadows import shadow_desired_update
from apps.ingest.models import RuleSet, Scan
from device_agent.aamva import parse
from device_agent.outbox import SCAN, NewItem, Outbox
from device_agent.scanner import reduce_scan
from device_agent.site_config import SiteConfig
from tests.factories import DEFAULT_PASSWORD, SiteFactory
from tests.support.agent import AgentProcess, get_json
from tests.support.fleet_agent import FaultyProxy, enrol_agent, skewed_clock_env
from tests.support.flows import wait_until
from tests.support.processes import free_port

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

TWO_DAYS = 2 * 24 * 3600.0


@pytest.fixture
def store(world_a):
    site = SiteFactory(tenant=world_a.tenant, kind="store", location_id="STORE-FLEET")
    RuleSet.objects.create(tenant=site.tenant, site=site, heartbeat_interval_seconds=1, underage_age=21)
    return site


@pytest.fixture
def held_batches(settings):
    """Scans wait for a big batch (the server's word wins over the agent's file)."""
    settings.TOCSIN_DEVICE_DEFAULTS = {**settings.TOCSIN_DEVICE_DEFAULTS, "batch_size": 500,
                                       "batch_timeout_seconds": 3600}


def _start(tmp_path, api_url, store, issue_setup_token, hardware_id, env=None, **config):
    status_port = free_port()
    path = enrol_agent(tmp_path=tmp_path, api_url=api_url, site=store, hardware_id=hardware_id, env=env,
                       setup_token=issue_setup_token(store), kind="scanner", status_port=status_port,
                       scanner_input="stdin", heartbeat_interval_seconds=1, **config)
    agent = AgentProcess(["run", "--config", str(path)], tmp_path / "agent.log", stdin=subprocess.PIPE, env=env)
    return agent, status_port, Device.objects.get(hardware_id=hardware_id)


def _status(port: int) -> dict:
    try:
        return get_json(f"http://127.0.0.1:{port}/api/status")
    except OSError:
        return {}  # not listening yet


def _barcodes(count: int, seed: int = 3) -> str:
    rng, today = random.Random(seed), date.today()
    return "".join(random_licence(rng, today).barcode_text() for _ in range(count))


def test_desired_config_reaches_the_agent_in_seconds_and_the_delta_empties(
        live_server, store, issue_setup_token, tmp_path, held_batches):
    agent, port, device = _start(tmp_path, live_server.url, store, issue_setup_token, "pi-shadow-01")
    try:
        wait_until(lambda: _status(port).get("batch_size") == 500, timeout=30,
                   what="the agent on the site's config")
        started = time.monotonic()
        shadow_desired_update(device=device, actor=Actor.system("test"),
                              patch={"batch_size": 7, "underage_age": 18, "not_for_this_agent": 1})
        wait_until(lambda: _status(port).get("batch_size") == 7, timeout=15,
                   what="the new batch size applied")
        reported = wait_until(lambda: Device.objects.get(pk=device.pk).reported_state.get("underage_age"),
                              timeout=15, what="the agent reporting what it applied")
        assert reported == 18 and time.monotonic() - started < 10
        device.refresh_from_db()
        assert device.reported_state == {"batch_size": 7, "underage_age": 18}
        # What it cannot apply stays in the delta, so drift would say so.
        shadow_desired_update(device=device, actor=Actor.system("test"), patch={"not_for_this_agent": None})
        device.refresh_from_db()
        assert device.shadow_pending_since is None
    finally:
        agent.stop()


def test_commands_are_run_and_acknowledged_by_the_real_agent(live_server, store, issue_setup_token, tmp_path,
                                                             held_batches):
    marker = tmp_path / "rebooted"
    agent, port, device = _start(tmp_path, live_server.url, store, issue_setup_token, "pi-commands-01",
                                 reboot_command=f"touch {marker}")
    try:
        wait_until(lambda: _status(port).get("batch_size") == 500, timeout=30,
                   what="the agent running")
        agent.write(_barcodes(4))
        wait_until(lambda: _status(port).get("pending") == 4, timeout=15,
                   what="4 scans held for a batch")
        assert not Scan.objects.filter(device=device).exists()
        actor = Actor.system("test")
        [flush] = command_send(tenant=store.tenant, actor=actor, name="flush", device=device)
        done = wait_until(lambda: DeviceCommand.objects.filter(pk=flush.pk, status="acked").first(), timeout=15,
                          what="the flush acknowledged")
        assert Scan.objects.filter(device=device).count() == 4 and done.result["acknowledged"] >= 4
        [reboot] = command_send(tenant=store.tenant, actor=actor, name="reboot", device=device)
        [limit] = command_send(tenant=store.tenant, actor=actor, name="reload_config", device=device)
        wait_until(lambda: marker.exists(), timeout=15, what="the reboot hook run")
        assert DeviceCommand.objects.get(pk=reboot.pk).status == "acked"
        wait_until(lambda: DeviceCommand.objects.filter(pk=limit.pk, status="acked").exists(), timeout=15,
                   what="reload acknowledged")
        old_key = Device.objects.get(pk=device.pk).public_key
        [rotate] = command_send(tenant=store.tenant, actor=actor, name="rotate_key", device=device)
        wait_until(lambda: DeviceCommand.objects.filter(pk=rotate.pk, status="acked").exists(), timeout=20,
                   what="the key rotated")
        assert Device.objects.get(pk=device.pk).public_key != old_key
        agent.write(_barcodes(1, seed=9))  # still talking, with the new key
        [again] = command_send(tenant=store.tenant, actor=actor, name="flush", device=device)
        wait_until(lambda: Scan.objects.filter(device=device).count() == 5, timeout=20, what="a scan after rotation")
        assert wait_until(lambda: DeviceCommand.objects.filter(pk=again.pk, status="acked").exists(), timeout=15)
    finally:
        agent.stop()
    # Nobody answers now: the command expires and says so.
    [lost] = command_send(tenant=store.tenant, actor=Actor.system("test"), name="flush", device=device,
                          ttl_seconds=10)
    assert commands_expire(now=timezone.now() + timedelta(seconds=11)) == 1
    lost.refresh_from_db()
    assert lost.status == "expired" and "not acknowledged" in lost.result["error"]


def test_a_3000_scan_backlog_shows_in_the_admin_and_raises_the_backlog_alert(
        live_server, store, issue_setup_token, tmp_path, world_a, held_batches):
    with FaultyProxy(live_server.url) as proxy:
        agent, port, device = _start(tmp_path, proxy.url, store, issue_setup_token, "pi-backlog-01")
        agent.stop()  # enrolled; now fill its outbox as two hours offline at the till would
        site = SiteConfig(scan_hash_key=store.tenant.scan_hash_key, timezone="UTC")
        two_hours_ago = time.time() - 7200
        rng, today = random.Random(5), date.today()
        outbox = Outbox(str(tmp_path / "state" / "outbox.sqlite3"))
        items = []
        for index in range(3000):
            licence = parse(random_licence(rng, today).barcode_text())
            record = reduce_scan(licence, site=site, scanned_at=two_hours_ago + index)
            items.append(NewItem(kind=SCAN, item_id=record["scan_id"], occurred_at=two_hours_ago + index,
                                 payload=record))
        outbox.put_many(items)
        outbox.close()
        proxy.failing.add("/api/v1/scans/batch/")  # the scan ingest is down; heartbeats get through
        agent = AgentProcess(["run", "--config", str(tmp_path / "agent.json")], tmp_path / "agent2.log")
        try:
            alert = wait_until(lambda: Alert.objects.filter(device=device, kind="backlog", status="triggered")
                               .first(), timeout=30, what="the backlog alert")
            assert alert.details["outbox_size"] == 3000 and alert.details["oldest_age_s"] >= 7200
            device.refresh_from_db()
            assert device.outbox_size == 3000 and device.outbox_oldest_age_s >= 7200
            admin = Client()
            assert admin.login(username=world_a.owner.username, password=DEFAULT_PASSWORD)
            world_a.owner.is_staff = True
            world_a.owner.save(update_fields=["is_staff"])
            page = admin.get("/admin/devices/device/").content.decode()
            assert "3000 waiting, oldest 1" in page  # "… oldest 120 min …"
            detail = admin.get(f"/admin/devices/device/{device.pk}/change/").content.decode()
            assert "3000" in detail
            # The ingest is back: the backlog drains and the alert clears by itself.
            proxy.failing.clear()
            wait_until(lambda: Scan.objects.filter(device=device).count() == 3000, timeout=60,
                       what="the backlog delivered")
            wait_until(lambda: Alert.objects.filter(pk=alert.pk, status="resolved").exists(), timeout=30,
                       what="the backlog alert cleared")
        finally:
            agent.stop()


@pytest.mark.parametrize("offset", [-TWO_DAYS, TWO_DAYS], ids=["2-days-behind", "2-days-ahead"])
def test_an_agent_with_a_clock_two_days_off_sends_scans_with_corrected_times(
        live_server, store, issue_setup_token, tmp_path, offset, settings):
    settings.TOCSIN_DEVICE_DEFAULTS = {**settings.TOCSIN_DEVICE_DEFAULTS, "batch_size": 3,
                                       "batch_timeout_seconds": 1}
    env = skewed_clock_env(tmp_path, offset)
    agent, port, device = _start(tmp_path, live_server.url, store, issue_setup_token, "pi-clock-01", env=env)
    try:
        wait_until(lambda: _status(port).get("batch_size") == 3, timeout=30,
                   what="the agent running")
        agent.write(_barcodes(3))
        wait_until(lambda: Scan.objects.filter(device=device).count() == 3, timeout=30, what="3 scans accepted")
        now = timezone.now()
        for scan in Scan.objects.filter(device=device):
            assert abs((scan.scanned_at - now).total_seconds()) < 120, scan.scanned_at
        device.refresh_from_db()
        assert abs((device.last_heartbeat_at - now).total_seconds()) < 120
    finally:
        agent.stop()
