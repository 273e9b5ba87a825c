"""Answering pages from where they arrive, across real processes: a Celery worker pages
through the real SDKs and the stand-ins, and the answers reach Tocsin's WSGI server
(gunicorn, as in production) signed the way Twilio and Slack sign them."""

from __future__ import annotations

import re
import time
import xml.etree.ElementTree as ET
from datetime import timedelta
from unittest import mock

import pytest
import requests
from django.db.models import F

from apps.alerts.models import Alert
from apps.notifications import action_links
from apps.notifications.escalation import escalation_tick
from apps.notifications.models import Notification
from tests.support.answering import contact, person, policy
from tests.support.flows import wait_until
from tests.support.processes import WebProcess

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
ANA, BEA, DUTY = "+351912345601", "+351912345602", "+351912345603"
SLACK_SECRET = "e2e-slack-signing-secret-0123456789"  # noqa: S105 (a test secret)


@pytest.fixture
def tocsin(tmp_path, settings, real_providers, celery_worker_process):
    """A worker and a web server that agree on the public URL Twilio and Slack are given."""
    web = WebProcess(tmp_path / "web.log", workers=2)
    env = {**real_providers, "TOCSIN_PUBLIC_BASE_URL": web.url, "SLACK_SIGNING_SECRET": SLACK_SECRET}
    web.env_overrides = env
    settings.TOCSIN_PUBLIC_BASE_URL = web.url
    web.start()
    celery_worker_process(env_overrides=env)
    yield web
    web.stop()


def _let_time_pass(alert, minutes: float) -> None:
    shift = timedelta(minutes=minutes)
    Alert.objects.filter(pk=alert.pk).update(created_at=F("created_at") - shift,
                                             next_escalation_at=F("next_escalation_at") - shift)


def _status(alert) -> str:
    return Alert.objects.get(pk=alert.pk).status


def _reply(twilio, web, number: str, body: str, **kwargs) -> requests.Response:
    return twilio.post_signed(f"{web.url}/hooks/twilio/inbound/", twilio.inbound_params(number, body), **kwargs)


def test_a_critical_sms_page_acknowledged_by_replying_1_never_escalates(
        world_a, world_b, make_channel, make_policy, raise_alert, tocsin, twilio_standin, smtp_standin):
    sms = person(world_a, world_a.staff, "sms", ANA)
    policy(world_a, [(0, [sms]), (5, [make_channel(world_a, "email")])], kinds=["breach"],
                notify_on_acknowledge=False)
    contact(world_b, world_b.staff, "sms", BEA)
    alert = raise_alert(world_a)
    (page,) = twilio_standin.wait_for(1)
    assert page["to"] == ANA and "Reply 1 to acknowledge" in page["body"]
    code = re.search(r"\(code (\w+)\)", page["body"]).group(1)

    forged = _reply(twilio_standin, tocsin, ANA, "1", forge=True)
    assert forged.status_code == 403
    foreign = _reply(twilio_standin, tocsin, BEA, f"1 {code}")  # another tenant's number, the right code
    assert foreign.status_code == 200 and "Nothing was changed" in foreign.text
    assert _status(alert) == "triggered"

    answer = _reply(twilio_standin, tocsin, ANA, "1")
    assert answer.status_code == 200 and "Acknowledged by" in ET.fromstring(answer.content).find("Message").text  # noqa: S314
    alert.refresh_from_db()
    assert alert.status == "acknowledged" and alert.acknowledged_by == world_a.staff
    assert alert.events.get(kind="acknowledged").data == {"via": "sms"}

    _let_time_pass(alert, 6)
    assert escalation_tick() == 0
    time.sleep(1)
    assert smtp_standin.messages == [] and not Notification.objects.filter(alert=alert, step=1).exists()


def _voice_page(world, make_channel, make_policy, raise_alert, twilio_standin):
    voice = person(world, world.staff, "voice", ANA)
    policy(world, [(0, [voice]), (5, [make_channel(world, "sms", target=DUTY)])], notify_on_acknowledge=False)
    alert = raise_alert(world)
    (call,) = twilio_standin.wait_for_calls(1)
    wait_until(lambda: Notification.objects.filter(alert=alert, provider_message_id=call["sid"]).exists(),
               what="the call recorded on its page")
    return alert, call


def test_a_voice_page_pressing_1_acknowledges(world_a, make_channel, make_policy, raise_alert, tocsin,
                                              twilio_standin):
    alert, call = _voice_page(world_a, make_channel, make_policy, raise_alert, twilio_standin)
    assert call["url"].startswith(tocsin.url)
    twiml = twilio_standin.post_signed(call["url"], twilio_standin.call_params(call["sid"]))
    gather = ET.fromstring(twiml.content).find("Gather")  # noqa: S314
    assert "Critical. Room breach." in " ".join(say.text for say in gather.iter("Say"))
    pressed = twilio_standin.post_signed(gather.get("action"), twilio_standin.call_params(call["sid"], Digits="1"))
    assert "Acknowledged by" in ET.fromstring(pressed.content).find("Say").text  # noqa: S314
    assert _status(alert) == "acknowledged"
    assert twilio_standin.post_signed(call["status_callback"], twilio_standin.call_params(
        call["sid"], status="completed")).status_code == 204
    _let_time_pass(alert, 6)
    assert escalation_tick() == 0 and twilio_standin.messages == []


def test_a_voice_page_nobody_answers_moves_to_the_next_step(world_a, make_channel, make_policy, raise_alert,
                                                            tocsin, twilio_standin):
    alert, call = _voice_page(world_a, make_channel, make_policy, raise_alert, twilio_standin)
    status = twilio_standin.post_signed(call["status_callback"],
                                        twilio_standin.call_params(call["sid"], status="no-answer"))
    assert status.status_code == 204
    (sms,) = twilio_standin.wait_for(1)  # the next step, at once: no waiting out its five minutes
    assert sms["to"] == DUTY
    page = Notification.objects.get(alert=alert, step=0)
    assert (page.status, page.receipt_status) == ("failed", "no-answer")
    assert _status(alert) == "triggered"


def test_a_slack_press_acknowledges_and_updates_the_message(world_a, make_channel, make_policy, raise_alert,
                                                            tocsin, slack_standin):
    contact(world_a, world_a.staff, "slack", "U0ANA12345")
    policy(world_a, [(0, [make_channel(world_a, "slack")])], notify_on_acknowledge=False)
    alert = raise_alert(world_a)
    (message,) = slack_standin.wait_for(1)
    ack = next(b for b in message["blocks"][-1]["elements"] if b["action_id"] == "tocsin_acknowledge")
    payload = slack_standin.block_actions_payload(user_id="U0ANA12345", action_id=ack["action_id"],
                                                  value=ack["value"], message=message)
    body, headers = slack_standin.signed_request(SLACK_SECRET, payload)
    url = f"{tocsin.url}/hooks/slack/interactivity/"

    forged_body, forged_headers = slack_standin.signed_request(SLACK_SECRET, payload, forge=True)
    assert requests.post(url, data=forged_body, headers=forged_headers, timeout=10).status_code == 403
    assert _status(alert) == "triggered"
    assert requests.post(url, data=body, headers=headers, timeout=10).status_code == 200
    assert _status(alert) == "acknowledged"
    update = slack_standin.wait_for(2)[1]
    assert update["kind"] == "response_url" and update["replace_original"] is True
    assert update["text"].startswith("Acknowledged by")
    assert requests.post(url, data=body, headers=headers, timeout=10).status_code == 403  # the replay


def test_an_email_link_works_once_after_a_confirmation_page(world_a, make_policy, raise_alert, tocsin,
                                                            smtp_standin):
    policy(world_a, [(0, [person(world_a, world_a.staff, "email", "ana@example.com")])],
                notify_on_acknowledge=False)
    alert = raise_alert(world_a)
    (mail,) = smtp_standin.wait_for(1)
    link = re.search(r"^Acknowledge: (\S+)$", mail["body"], re.MULTILINE).group(1)
    assert link.startswith(tocsin.url)

    confirm = requests.get(link, timeout=10)
    assert confirm.status_code == 200 and '<form method="post">' in confirm.text
    assert _status(alert) == "triggered"
    done = requests.post(link, timeout=10)
    assert done.status_code == 200 and "Acknowledged by" in done.text
    assert _status(alert) == "acknowledged"
    assert requests.post(link, timeout=10).status_code == 410  # reused
    assert requests.get(link, timeout=10).status_code == 410

    a_day_ago = time.time() - timedelta(hours=24, minutes=1).total_seconds()
    with mock.patch("django.core.signing.time.time", return_value=a_day_ago):
        stale = action_links.link_url(action_links.make_token(alert=alert, user_id=world_a.staff.pk,
                                                              action="resolve"))
    expired = requests.post(stale, timeout=10)
    assert expired.status_code == 410 and "expired" in expired.text
    assert _status(alert) == "acknowledged"


def test_a_teams_channel_receives_its_card(world_a, make_policy, raise_alert, tocsin, teams_standin):
    from apps.notifications.channels import channel_create
    from tests.support.actors import ACTOR

    teams = channel_create(tenant=world_a.tenant, name="Teams", kind="teams", target="Ops › Alerts",
                           secret=teams_standin.workflow_url, actor=ACTOR)
    policy(world_a, [(0, [teams])])
    alert = raise_alert(world_a)
    (posted,) = teams_standin.wait_for(1)
    assert posted["card"]["actions"][0]["url"] == f"{tocsin.url}/board/?alert={alert.public_id}"
    wait_until(lambda: Notification.objects.filter(alert=alert, status="sent").exists(), what="the card recorded")
