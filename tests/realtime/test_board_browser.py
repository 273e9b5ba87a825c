"""The live board in a real browser (Playwright driving Debian's chromium, headless).

A live WSGI server (pytest-django) serves the board and the API; the stream process is
the real uvicorn one. Nothing below touches the ORM while the browser runs: Playwright's
sync API keeps an event loop running in this thread, where Django refuses database calls.
"""

from __future__ import annotations

import json
import os
import threading
import time
import urllib.request

import pytest
from django.utils import timezone

from apps.alerts.models import Alert, AlertEventKind
from tests.factories import DEFAULT_PASSWORD
from tests.support.processes import ROOT

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = ROOT / "test-artifacts"
NOTE = "Guard sent to room 101"


def _sign_in(browser, base_url: str, user, **context_options):
    page = browser.new_context(**context_options).new_page()
    page.goto(f"{base_url}/board/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", DEFAULT_PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{base_url}/board/")
    page.wait_for_selector('#connection[data-state="live"]', timeout=5000)
    return page


def _device_reports(base_url: str, token: str, kind: str) -> str:
    body = json.dumps({"kind": kind, "occurred_at": timezone.now().isoformat(), "details": {"rssi": -95}})
    request = urllib.request.Request(f"{base_url}/api/v1/device-alerts/", data=body.encode(), method="POST",
                                     headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())["alert_id"]


def _deliver_pages_of(alert_id: str) -> None:
    """What a Celery worker does with the alert's outbox rows (console provider), in a thread
    of its own: this one may not use the ORM while the browser runs."""
    from django.db import connection

    from apps.notifications.delivery import deliver
    from apps.notifications.models import Notification

    def work():
        try:
            for pk in Notification.objects.filter(alert__public_id=alert_id).values_list("pk", flat=True):
                deliver(pk)
        finally:
            connection.close()

    worker = threading.Thread(target=work)
    worker.start()
    worker.join(timeout=10)


def test_staff_see_a_breach_within_two_seconds_acknowledge_it_and_other_tenants_never_see_it(
        live_server, own_stream_server, settings, world_a, world_b, device_client, make_channel,  # noqa: F811
        make_policy):  # noqa: F811
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip("Debian's chromium is not installed: apt-get install -y chromium")
    sync_api = pytest.importorskip("playwright.sync_api")
    settings.TOCSIN_STREAM_PUBLIC_URL = own_stream_server.url
    device, _ = device_client(world_a.site, name="Room 101 tablet", location_label="Room 101")
    make_policy(world_a, [(0, [make_channel(world_a, "sms", name="Front desk")])], kinds=["breach"])
    from apps.devices.device_tokens import issue_device_token

    token, _ = issue_device_token(device)
    ARTIFACTS.mkdir(exist_ok=True)

    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        board_a = _sign_in(browser, live_server.url, world_a.staff, viewport={"width": 1280, "height": 800})
        board_b = _sign_in(browser, live_server.url, world_b.staff)
        assert board_a.locator(f'[data-device-id="{device.public_id}"]').is_visible()

        started = time.monotonic()
        alert_id = _device_reports(live_server.url, token, "breach")
        tile = board_a.locator(f'[data-alert-id="{alert_id}"]')
        tile.wait_for(state="visible", timeout=2000)
        appeared_after = time.monotonic() - started
        assert appeared_after < 2
        assert "sev-critical" in tile.get_attribute("class")
        assert tile.locator(".place").inner_text() == f"Room 101, {world_a.site.name}"  # the room, on the board
        _deliver_pages_of(alert_id)
        tile.locator(".delivery-sent").wait_for(timeout=2000)
        assert "SMS · Front desk: sent" in tile.inner_text()

        tile.locator('button[data-action="acknowledge"]').click()
        tile.locator('input[name="note"]').fill(NOTE)
        tile.locator("button.confirm").click()
        board_a.wait_for_selector(f'[data-alert-id="{alert_id}"][data-status="acknowledged"]', timeout=3000)
        assert "Acknowledged by" in tile.inner_text()
        assert not tile.locator('button[data-action="acknowledge"]').is_visible()
        # The acknowledgement came back on the stream as well (raised, delivered, acknowledged).
        board_a.wait_for_function("Number(document.getElementById('board').dataset.eventsReceived) >= 3",
                                  timeout=3000)
        board_a.screenshot(path=str(ARTIFACTS / "board-acknowledged.png"), full_page=True)

        board_a.set_viewport_size({"width": 390, "height": 844})
        assert board_a.evaluate("document.documentElement.scrollWidth") <= 390
        board_a.screenshot(path=str(ARTIFACTS / "board-phone.png"), full_page=True)

        # Tenant B's staff were connected the whole time and received nothing of it.
        assert board_b.locator("#connection").get_attribute("data-state") == "live"
        assert board_b.locator("[data-alert-id]").count() == 0
        assert board_b.locator("#board").get_attribute("data-events-received") == "0"
        board_b.screenshot(path=str(ARTIFACTS / "board-other-tenant.png"), full_page=True)

        # The stream process goes away: the board says so, and what was raised meanwhile
        # arrives once it is back (the board resumes from the last event it saw).
        own_stream_server.stop()
        board_a.wait_for_selector('#banner[data-state="reconnecting"]:not([hidden])', timeout=5000)
        second = _device_reports(live_server.url, token, "tamper")
        own_stream_server.start()
        board_a.wait_for_selector(f'[data-alert-id="{second}"]', timeout=10000)
        assert board_a.locator("#connection").get_attribute("data-state") == "live"
        assert board_a.locator("#banner").is_hidden()

        board_a.select_option("#filter-kind", "breach")
        assert tile.is_visible() and board_a.locator(f'[data-alert-id="{second}"]').is_hidden()
        board_a.click("#mute")
        board_a.reload()
        board_a.wait_for_selector('#connection[data-state="live"]', timeout=5000)
        assert board_a.get_attribute("#mute", "aria-pressed") == "true"  # muted, and remembered
        assert board_a.locator(f'[data-alert-id="{second}"]').is_hidden()  # so is the filter
        browser.close()

    alert = Alert.objects.get(public_id=alert_id)
    assert alert.status == "acknowledged" and alert.acknowledged_by == world_a.staff
    assert alert.events.get(kind=AlertEventKind.ACKNOWLEDGED).note == NOTE


def test_a_pages_link_opens_its_alert_highlighted_even_when_resolved(live_server, own_stream_server, settings,  # noqa: F811
                                                                     world_a, make_world):
    """Every page carries `/board/?alert=<id>`; by the time someone taps it the alert may be
    handled: the board still shows it, highlighted, and keeps it (resolved ones usually fade)."""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip("Debian's chromium is not installed: apt-get install -y chromium")
    sync_api = pytest.importorskip("playwright.sync_api")
    settings.TOCSIN_STREAM_PUBLIC_URL = own_stream_server.url
    from apps.alerts.services import alert_raise, alert_resolve
    from apps.audit.services import Actor
    from tests.factories import MembershipFactory

    alert = alert_raise(tenant=world_a.tenant, kind="underage", dedup_key="till-2", severity="critical",
                        summary="Underage customer served at till 2", source="rule", site=world_a.site).alert
    alert_resolve(alert=alert, actor=Actor.system("test"))
    MembershipFactory(user=world_a.staff, tenant=make_world(name="Other", slug="other").tenant)  # two tenants now

    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_context().new_page()
        page.goto(f"{live_server.url}/board/?alert={alert.public_id}")
        page.fill("#id_username", world_a.staff.username)
        page.fill("#id_password", DEFAULT_PASSWORD)
        page.click("input[type=submit]")
        tile = page.locator(f'[data-alert-id="{alert.public_id}"]')
        tile.wait_for(state="visible", timeout=5000)
        assert "focused" in tile.get_attribute("class") and tile.get_attribute("data-status") == "resolved"
        page.wait_for_timeout(5000)  # longer than a resolved alert lingers
        assert tile.is_visible()
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "board-linked-alert.png"), full_page=True)
        browser.close()
