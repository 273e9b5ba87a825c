"""The device page in a real browser, reached from the live board: its SVG charts render
(Playwright driving Debian's chromium, headless; screenshots kept in test-artifacts/)."""

from __future__ import annotations

import os
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from apps.ingest.models import HealthSample
from apps.ingest.services.telemetry import telemetry_ingest
from tests.factories import DeviceFactory, SiteFactory
from tests.realtime.test_board_browser import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, _sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _history(gateway, tablet) -> None:
    """A day of 20-minute readings: three inverters' power, the tablet's health."""
    now = timezone.now()
    readings = []
    for step in range(72):
        ts = now - timedelta(minutes=20 * step)
        for number, peak in ((1, 5000.0), (2, 4800.0), (3, 2500.0)):
            readings.append({"message_id": uuid.uuid4(), "ts": ts, "inverter": f"inv-{number}",
                             "metric": "power_ac", "value": peak * (0.5 + (step % 12) / 24), "unit": "W"})
        HealthSample.objects.create(tenant=tablet.tenant, device=tablet, sent_at=ts, battery_level=90 - step // 2,
                                    rssi=-50 - step % 15, temperature_c=35 + step % 7)
    telemetry_ingest(device=gateway, readings=readings, rejected=[])


def test_the_device_page_from_the_board_renders_its_charts(live_server, own_stream_server, settings, world_a):
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip("Debian's chromium is not installed: apt-get install -y chromium")
    sync_api = pytest.importorskip("playwright.sync_api")
    settings.TOCSIN_STREAM_PUBLIC_URL = own_stream_server.url
    plant = SiteFactory(tenant=world_a.tenant, kind="plant", name="Alentejo 1")
    gateway = DeviceFactory(site=plant, kind="gateway", name="Alentejo gateway", last_seen_at=timezone.now())
    tablet = DeviceFactory(site=world_a.site, name="Room 101 tablet", last_seen_at=timezone.now())
    _history(gateway, tablet)
    ARTIFACTS.mkdir(exist_ok=True)

    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        page = _sign_in(browser, live_server.url, world_a.viewer, viewport={"width": 1100, "height": 900})
        errors = []
        page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
        page.locator(f'[data-device-id="{gateway.public_id}"] a.device-link').click()
        page.wait_for_url(f"{live_server.url}/devices/{gateway.public_id}/")
        power = page.locator("section.panel", has_text="AC power per inverter")
        assert power.locator("svg.chart polyline.series").count() == 3
        assert [item.inner_text() for item in power.locator(".legend li").all()] == [
            "inv-1 power_ac", "inv-2 power_ac", "inv-3 power_ac"]
        box = power.locator("svg.chart").bounding_box()
        assert box["width"] > 600 and box["height"] > 100  # drawn, not collapsed
        page.screenshot(path=str(ARTIFACTS / "device-page-plant.png"), full_page=True)

        page.goto(f"{live_server.url}/devices/{tablet.public_id}/?period=week")
        for title in ("Battery", "Wi-Fi signal (RSSI)", "Temperature"):
            panel = page.locator("section.panel", has_text=title)
            assert panel.locator("svg.chart polyline.series").count() == 1, title
        assert page.locator('a[aria-current="page"]').inner_text() == "week"
        page.set_viewport_size({"width": 390, "height": 844})
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        page.screenshot(path=str(ARTIFACTS / "device-page-tablet-phone.png"), full_page=True)
        assert not [e for e in errors if "Content Security Policy" in e or "Refused" in e], errors
        browser.close()
