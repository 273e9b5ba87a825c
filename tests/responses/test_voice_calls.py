"""A voice step: Twilio places the call, fetches TwiML that reads the alert and gathers a
key; 1 acknowledges, 2 escalates at once; busy or no answer moves to the next step."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from urllib.parse import urlsplit

import pytest

from apps.alerts.models import Alert
from apps.audit.models import AuditEntry
from apps.notifications.models import Notification
from tests.support.answering import PUBLIC, person, policy, send_pages, twilio_post

pytestmark = pytest.mark.django_db
ANA = "+351912345601"


def _path(url: str) -> str:
    assert url.startswith(PUBLIC), url
    return urlsplit(url).path


@pytest.fixture
def called(world_a, make_channel, make_policy, raise_alert, tele):
    voice = person(world_a, world_a.staff, "voice", ANA)
    policy(world_a, [(0, [voice]), (5, [make_channel(world_a, "email")])], notify_on_acknowledge=False)
    alert = raise_alert(world_a)
    (row,) = send_pages(alert)
    return alert, row


def _twiml(client, tele, call, path, **extra):
    response = twilio_post(client, tele, path, tele.call_params(call["sid"], **extra))
    assert response.status_code == 200 and response["Content-Type"].startswith("application/xml")
    return ET.fromstring(response.content)  # noqa: S314 (our own TwiML, from the test server)


def test_the_call_reads_the_alert_and_pressing_1_acknowledges(called, world_a, tele, client):
    alert, row = called
    (call,) = tele.calls
    assert call["to"] == ANA and call["status_callback"] == f"{PUBLIC}/hooks/twilio/voice/status/"
    assert row.status == "sent" and row.provider_message_id == call["sid"] and row.provider == "twilio-voice"

    twiml = _twiml(client, tele, call, _path(call["url"]))
    gather = twiml.find("Gather")
    spoken = " ".join(say.text for say in gather.iter("Say"))
    assert "Critical. Room breach. breach in room 101." in spoken and world_a.site.name in spoken
    assert "Press 1 to acknowledge" in spoken and "Press 2 to escalate" in spoken
    assert gather.get("numDigits") == "1"

    answer = _twiml(client, tele, call, _path(gather.get("action")), Digits="1")
    assert "Acknowledged by" in answer.find("Say").text and answer.find("Hangup") is not None
    alert.refresh_from_db()
    assert alert.status == "acknowledged" and alert.acknowledged_by == world_a.staff
    assert alert.events.get(kind="acknowledged").data == {"via": "voice"}


def test_pressing_2_escalates_at_once(called, tele, client):
    alert, _ = called
    (call,) = tele.calls
    gather = _twiml(client, tele, call, _path(call["url"])).find("Gather")
    answer = _twiml(client, tele, call, _path(gather.get("action")), Digits="2")
    assert "Escalated now" in answer.find("Say").text
    assert Notification.objects.filter(alert=alert, step=1).count() == 1
    assert AuditEntry.objects.filter(action="alert.escalated", details__via="voice").exists()
    assert Alert.objects.get(pk=alert.pk).status == "triggered"


def test_another_key_says_the_menu_again(called, tele, client):
    (call,) = tele.calls
    gather = _twiml(client, tele, call, _path(call["url"])).find("Gather")
    answer = _twiml(client, tele, call, _path(gather.get("action")), Digits="7")
    assert answer.find("Redirect").text == call["url"]


@pytest.mark.parametrize("status", ["no-answer", "busy"])
def test_no_answer_or_busy_is_a_failed_attempt_and_moves_to_the_next_step(status, called, tele, client):
    alert, row = called
    (call,) = tele.calls
    params = tele.call_params(call["sid"], status=status, CallDuration="0")
    for _ in range(2):  # Twilio repeats a callback: it moves the alert on once
        assert twilio_post(client, tele, "/hooks/twilio/voice/status/", params).status_code == 204
    row.refresh_from_db()
    assert (row.status, row.receipt_status, row.error_code) == ("failed", status, status)
    assert Notification.objects.filter(alert=alert, step=1, status="pending").count() == 1
    assert Alert.objects.get(pk=alert.pk).events.filter(kind="escalated").count() == 1


def test_a_completed_call_is_a_receipt_only(called, tele, client):
    alert, row = called
    (call,) = tele.calls
    assert twilio_post(client, tele, "/hooks/twilio/voice/status/",
                       tele.call_params(call["sid"], status="completed")).status_code == 204
    row.refresh_from_db()
    assert (row.status, row.receipt_status) == ("sent", "completed")
    assert not Notification.objects.filter(alert=alert, step=1).exists()


def test_forged_voice_requests_are_refused(called, tele, client):
    alert, _ = called
    (call,) = tele.calls
    path = _path(call["url"])
    for target in (path, f"{path}gather/", "/hooks/twilio/voice/status/"):
        params = tele.call_params(call["sid"], status="no-answer", Digits="1")
        assert twilio_post(client, tele, target, params, forge=True).status_code == 403
    assert Alert.objects.get(pk=alert.pk).status == "triggered"


def test_a_call_about_another_number_or_alert_changes_nothing(called, world_b, raise_alert, tele, client):
    alert, _ = called
    (call,) = tele.calls
    other = raise_alert(world_b)
    foreign = f"/hooks/twilio/voice/{other.public_id}/gather/"
    answer = _twiml(client, tele, call, foreign, Digits="1")
    assert "Nothing was changed" in answer.find("Say").text
    answer = _twiml(client, tele, call, f"{_path(call['url'])}gather/", Digits="1", To="+351912345699")
    assert "Nothing was changed" in answer.find("Say").text
    assert Alert.objects.get(pk=alert.pk).status == "triggered"
    assert Alert.objects.get(pk=other.pk).status == "triggered"


def test_malformed_status_callbacks_get_400(tele, client):
    assert twilio_post(client, tele, "/hooks/twilio/voice/status/", {"CallSid": "XX"}).status_code == 400


def test_a_voice_channels_test_call_reads_the_test_message(world_a, make_channel, tele):
    from apps.notifications.channels import channel_send_test
    from tests.support.actors import ACTOR

    result = channel_send_test(channel=make_channel(world_a, "voice", target=ANA), actor=ACTOR)
    assert result.ok and result.provider == "twilio-voice"
    (call,) = tele.calls
    assert call["url"] is None and "Test from Tocsin" in call["twiml"]
