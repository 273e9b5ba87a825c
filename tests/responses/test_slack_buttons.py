"""Slack pages carry buttons; a press signed by Slack acts as the linked person and the
message is updated in place; replays, forgeries and stale timestamps are refused."""

from __future__ import annotations

import time

import pytest

from apps.alerts.models import Alert
from apps.audit.models import AuditEntry
from tests.support.answering import SLACK_SECRET, contact, policy, send_pages

pytestmark = pytest.mark.django_db
ANA_SLACK = "U0ANA12345"


@pytest.fixture
def slack_page(world_a, make_channel, make_policy, raise_alert, real_providers, slack_standin):
    contact(world_a, world_a.staff, "slack", ANA_SLACK)
    policy(world_a, [(0, [make_channel(world_a, "slack")])], notify_on_acknowledge=False)
    alert = raise_alert(world_a)
    send_pages(alert)
    (message,) = slack_standin.messages
    return alert, message


@pytest.fixture(autouse=True)
def _commits(django_capture_on_commit_callbacks):
    """The message is updated after the press commits: run what a commit would run."""
    global _committed
    _committed = django_capture_on_commit_callbacks
    yield
    _committed = None


_committed = None


def _press(client, slack_standin, message, *, user=ANA_SLACK, action="tocsin_acknowledge", value=None, **signing):
    payload = slack_standin.block_actions_payload(user_id=user, action_id=action,
                                                  value=value or message["blocks"][-1]["elements"][0]["value"],
                                                  message=message)
    body, headers = slack_standin.signed_request(SLACK_SECRET, payload, **signing)
    return _post(client, body, headers)


def _post(client, body, headers):
    with _committed(execute=True):
        return client.generic("POST", "/hooks/slack/interactivity/", body, content_type=headers["Content-Type"],
                              HTTP_X_SLACK_REQUEST_TIMESTAMP=headers["X-Slack-Request-Timestamp"],
                              HTTP_X_SLACK_SIGNATURE=headers["X-Slack-Signature"])


def _updates(slack_standin):
    return [m for m in slack_standin.messages if m["kind"] == "response_url"]


def test_a_page_has_acknowledge_and_resolve_buttons(slack_page):
    alert, message = slack_page
    buttons = message["blocks"][-1]
    assert buttons["type"] == "actions"
    assert [(b["action_id"], b["value"]) for b in buttons["elements"]] == [
        ("tocsin_acknowledge", alert.public_id), ("tocsin_resolve", alert.public_id),
        ("tocsin_snooze", alert.public_id)]


def test_a_signed_press_acknowledges_and_updates_the_message(slack_page, world_a, slack_standin, client):
    alert, message = slack_page
    assert _press(client, slack_standin, message).status_code == 200
    alert.refresh_from_db()
    assert alert.status == "acknowledged" and alert.acknowledged_by == world_a.staff
    assert alert.events.get(kind="acknowledged").data == {"via": "slack"}
    assert AuditEntry.objects.filter(action="alert.acknowledged", details__via="slack").exists()
    (update,) = _updates(slack_standin)
    assert update["replace_original"] is True and update["text"].startswith("Acknowledged by ")
    assert [b["type"] for b in update["blocks"]] == ["section", "context"]  # the buttons are gone
    assert update["blocks"][0] == message["blocks"][0]


def test_resolve_button(slack_page, slack_standin, client):
    alert, message = slack_page
    assert _press(client, slack_standin, message, action="tocsin_resolve").status_code == 200
    assert Alert.objects.get(pk=alert.pk).status == "resolved"


def test_snooze_button(slack_page, slack_standin, client):
    alert, message = slack_page
    assert _press(client, slack_standin, message, action="tocsin_snooze").status_code == 200
    alert = Alert.objects.get(pk=alert.pk)
    assert alert.is_snoozed() and alert.events.get(kind="snoozed").data["via"] == "slack"
    assert _updates(slack_standin)[0]["text"].startswith("Snoozed by ")


def test_a_replayed_press_is_refused(slack_page, slack_standin, client):
    alert, message = slack_page
    payload = slack_standin.block_actions_payload(user_id=ANA_SLACK, action_id="tocsin_resolve",
                                                  value=alert.public_id, message=message)
    body, headers = slack_standin.signed_request(SLACK_SECRET, payload)
    assert _post(client, body, headers).status_code == 200
    Alert.objects.filter(pk=alert.pk).update(status="triggered")  # as if reopened: the replay must not act
    assert _post(client, body, headers).status_code == 403
    assert Alert.objects.get(pk=alert.pk).status == "triggered"


@pytest.mark.parametrize("signing", [{"forge": True}, {"timestamp": -310}, {"timestamp": 310}])
def test_forged_or_stale_presses_are_refused(signing, slack_page, slack_standin, client):
    """Slack's window is five minutes either way (clock skew included)."""
    alert, message = slack_page
    if "timestamp" in signing:
        signing = {"timestamp": int(time.time()) + signing["timestamp"]}
    assert _press(client, slack_standin, message, **signing).status_code == 403
    assert Alert.objects.get(pk=alert.pk).status == "triggered"
    assert _updates(slack_standin) == []


def test_unsigned_or_malformed_headers_are_refused(slack_page, client):
    for headers in ({}, {"HTTP_X_SLACK_REQUEST_TIMESTAMP": "soon", "HTTP_X_SLACK_SIGNATURE": "v0=00"}):
        assert client.post("/hooks/slack/interactivity/", {"payload": "{}"}, **headers).status_code == 403


def test_without_a_signing_secret_every_press_is_refused(slack_page, slack_standin, client, settings):
    settings.SLACK_SIGNING_SECRET = ""
    assert _press(client, slack_standin, slack_page[1]).status_code == 403


def test_an_unlinked_slack_user_is_told_how_to_link(slack_page, slack_standin, client):
    alert, message = slack_page
    assert _press(client, slack_standin, message, user="U0STRANGER").status_code == 200
    assert Alert.objects.get(pk=alert.pk).status == "triggered"
    (update,) = _updates(slack_standin)
    assert update["response_type"] == "ephemeral" and update["replace_original"] is False
    assert "isn't linked to Tocsin" in update["text"] and "member ID" in update["text"]


def test_a_user_linked_in_another_tenant_changes_nothing(slack_page, world_b, slack_standin, client):
    alert, message = slack_page
    contact(world_b, world_b.admin, "slack", "U0BOB99999")
    assert _press(client, slack_standin, message, user="U0BOB99999").status_code == 200
    assert Alert.objects.get(pk=alert.pk).status == "triggered"
    assert "isn't linked" in _updates(slack_standin)[0]["text"]


def test_other_interactions_and_garbage_change_nothing(slack_page, slack_standin, client):
    from urllib.parse import urlencode

    from slack_sdk.signature import SignatureVerifier

    for payload in ("not json", '{"type": "view_submission"}', '{"type": "block_actions", "actions": "x"}'):
        body = urlencode({"payload": payload}).encode()
        stamp = str(int(time.time()))
        signature = SignatureVerifier(SLACK_SECRET).generate_signature(timestamp=stamp, body=body)
        response = _post(client, body, {"Content-Type": "application/x-www-form-urlencoded",
                                        "X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": signature})
        assert response.status_code == 200
    assert Alert.objects.get(pk=slack_page[0].pk).status == "triggered"
