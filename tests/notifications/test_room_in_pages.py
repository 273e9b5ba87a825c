"""Pages and the board name the device's place: "Room breach, Room 305, Harbour Hotel Lisbon"."""

from __future__ import annotations

import json
import re

import pytest
from django.contrib.staticfiles import finders
from django.test import Client

from apps.alerts.services import alert_raise
from apps.notifications.messages import bundle, render
from apps.notifications.providers.email import EmailProvider
from apps.notifications.providers.slack import SlackProvider
from apps.notifications.providers.twilio_sms import TwilioSmsProvider
from apps.notifications.providers.webhook import WebhookProvider
from tests.factories import DeviceFactory

pytestmark = pytest.mark.django_db
WHERE = "Room breach, Room 305, Harbour Hotel Lisbon"


@pytest.fixture
def room_alert(world_a):
    world_a.site.name = "Harbour Hotel Lisbon"
    world_a.site.save()
    device = DeviceFactory(site=world_a.site, location_label="Room 305", name="tablet ab-102")
    return alert_raise(tenant=world_a.tenant, kind="breach", dedup_key="breach-305", severity="critical",
                       summary=f"{device} left its room (unknown access point)", source="rule", site=world_a.site,
                       device=device).alert


def test_every_page_names_the_room(room_alert, world_a, make_channel, real_providers, twilio_standin, slack_standin,
                                   smtp_standin, webhook_receiver):
    message = render(room_alert, "page")
    assert message.text.startswith(f"CRITICAL: {WHERE}: Room 305 left its room") and WHERE in message.subject
    assert "tablet ab-102" not in message.text
    TwilioSmsProvider().send(make_channel(world_a, "sms"), message)
    SlackProvider().send(make_channel(world_a, "slack"), message)
    EmailProvider().send(make_channel(world_a, "email"), message)
    hook = make_channel(world_a, "webhook", target=webhook_receiver.url("/t"), secret=webhook_receiver.secret)
    WebhookProvider().send(hook, message)
    assert WHERE in twilio_standin.wait_for(1)[0]["body"]
    assert WHERE in slack_standin.wait_for(1)[0]["text"]
    mail = smtp_standin.wait_for(1)[0]
    assert WHERE in mail["subject"]
    received = webhook_receiver.wait_for(1)[0]["json"]
    assert WHERE in received["text"] and received["location_label"] == "Room 305"
    assert "Room 305" in bundle([message, render(room_alert, "page")]).text
    for purpose in ("acknowledged", "resolved"):
        room_alert.acknowledged_at = room_alert.resolved_at = room_alert.first_seen_at
        assert WHERE in render(room_alert, purpose).text


def test_without_a_place_pages_read_as_before(world_a):
    alert = alert_raise(tenant=world_a.tenant, kind="battery", dedup_key="b", severity="warning", summary="Low battery",
                        source="rule", site=world_a.site, device=DeviceFactory(site=world_a.site)).alert
    assert f"Low battery at {world_a.site.name}" in render(alert, "page").text


def test_the_board_shows_the_room(room_alert, world_a):
    client = Client()
    client.force_login(world_a.staff)
    response = client.get("/board/")
    snapshot = json.loads(re.search(r'<script id="board-snapshot" type="application/json">(.*?)</script>',
                                    response.content.decode(), re.S).group(1))
    (alert,) = snapshot["alerts"]
    assert alert["location_label"] == "Room 305" and alert["site_name"] == "Harbour Hotel Lisbon"
    assert snapshot["devices"][0]["location_label"] == "Room 305"
    api = client.get(f"/api/v1/alerts/{room_alert.public_id}/").json()
    assert api["location_label"] == "Room 305" and api["device_name"] == "Room 305"
    with open(finders.find("realtime/board.js"), encoding="utf-8") as script:
        source = script.read()
    assert "alert.location_label, alert.site_name" in source  # the header joins place and site
