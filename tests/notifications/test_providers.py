"""Each provider through its real SDK against a local stand-in, in every failure mode."""

from __future__ import annotations

import pytest

from apps.notifications.messages import Message
from apps.notifications.providers.base import PermanentError, TransientError
from apps.notifications.providers.email import EmailProvider
from apps.notifications.providers.registry import provider_for
from apps.notifications.providers.slack import SlackProvider
from apps.notifications.providers.twilio_sms import TwilioSmsProvider
from apps.notifications.providers.webhook import WebhookProvider

pytestmark = pytest.mark.django_db

MESSAGE = Message(subject="[Tocsin] CRITICAL: breach", text="CRITICAL: Room 101 tablet left its room.",
                  data={"alert_id": "alr_x", "severity": "critical", "summary": "breach"})


def test_registry_uses_real_providers_when_configured(world_a, make_channel, real_providers):
    assert provider_for(make_channel(world_a, "sms")).name == "twilio"
    assert provider_for(make_channel(world_a, "slack")).name == "slack"
    assert provider_for(make_channel(world_a, "email")).name == "email"


def test_registry_falls_back_to_console(world_a, make_channel, settings):
    settings.TWILIO_ACCOUNT_SID = ""
    assert provider_for(make_channel(world_a, "sms")).name == "console"


# --- Twilio -------------------------------------------------------------------------------

def test_twilio_sends_with_status_callback(world_a, make_channel, real_providers, twilio_standin, settings):
    receipt = TwilioSmsProvider().send(make_channel(world_a, "sms"), MESSAGE)
    (sent,) = twilio_standin.wait_for(1)
    assert receipt.provider_message_id == sent["sid"] and sent["to"] == "+351912345678"
    assert sent["status_callback"] == f"{settings.TOCSIN_PUBLIC_BASE_URL}/hooks/twilio/status/"
    assert "left its room" in sent["body"]


@pytest.mark.parametrize("code", [21211, 21610, 21614])
def test_twilio_permanent_codes(world_a, make_channel, real_providers, twilio_standin, code):
    twilio_standin.fail_next(1, "error", status=400, code=code)
    with pytest.raises(PermanentError) as failure:
        TwilioSmsProvider().send(make_channel(world_a, "sms"), MESSAGE)
    assert failure.value.code == str(code)


def test_twilio_rate_limit_is_transient_with_retry_after(world_a, make_channel, real_providers, twilio_standin):
    twilio_standin.fail_next(1, "rate_limit", retry_after=7)
    with pytest.raises(TransientError) as failure:
        TwilioSmsProvider().send(make_channel(world_a, "sms"), MESSAGE)
    assert failure.value.retry_after == 7


@pytest.mark.parametrize("mode, kwargs", [("server_error", {"status": 503}), ("timeout", {"seconds": 5})])
def test_twilio_outages_are_transient(world_a, make_channel, real_providers, twilio_standin, mode, kwargs):
    twilio_standin.fail_next(1, mode, **kwargs)
    with pytest.raises(TransientError):
        TwilioSmsProvider().send(make_channel(world_a, "sms"), MESSAGE)


# --- Slack --------------------------------------------------------------------------------

def test_slack_posts_with_bot_token(world_a, make_channel, real_providers, slack_standin):
    receipt = SlackProvider().send(make_channel(world_a, "slack", target="C0SECURITY"), MESSAGE)
    (sent,) = slack_standin.wait_for(1)
    assert sent["channel"] == "C0SECURITY" and receipt.provider_message_id == sent["ts"]


@pytest.mark.parametrize("error", ["channel_not_found", "invalid_auth", "account_inactive"])
def test_slack_permanent_errors(world_a, make_channel, real_providers, slack_standin, error):
    slack_standin.fail_next(1, "error", error=error)
    with pytest.raises(PermanentError) as failure:
        SlackProvider().send(make_channel(world_a, "slack"), MESSAGE)
    assert failure.value.code == error


def test_slack_rate_limit_and_outage_are_transient(world_a, make_channel, real_providers, slack_standin):
    slack_standin.fail_next(1, "rate_limit", retry_after=3)
    with pytest.raises(TransientError) as failure:
        SlackProvider().send(make_channel(world_a, "slack"), MESSAGE)
    assert failure.value.retry_after == 3
    slack_standin.fail_next(1, "server_error", status=502)
    with pytest.raises(TransientError):
        SlackProvider().send(make_channel(world_a, "slack"), MESSAGE)
    assert len(slack_standin.messages) == 0


def test_slack_incoming_webhook_as_channel_secret(world_a, make_channel, real_providers, slack_standin):
    channel = make_channel(world_a, "slack", secret=slack_standin.webhook_url)
    SlackProvider().send(channel, MESSAGE)
    assert slack_standin.wait_for(1)[0]["kind"] == "webhook"
    slack_standin.fail_next(1, "error", error="no_service")
    with pytest.raises(PermanentError):
        SlackProvider().send(channel, MESSAGE)


# --- email ----------------------------------------------------------------------------------

def test_email_is_accepted_by_smtp(world_a, make_channel, real_providers, smtp_standin):
    EmailProvider().send(make_channel(world_a, "email", target="a@example.com, b@example.com"), MESSAGE)
    (mail,) = smtp_standin.wait_for(1)
    assert set(mail["to"]) == {"a@example.com", "b@example.com"} and mail["subject"] == MESSAGE.subject


@pytest.mark.parametrize("mode, kwargs, error", [
    ("reject", {"code": 451}, TransientError),
    ("reject", {"code": 550, "stage": "rcpt"}, PermanentError),
    ("disconnect", {}, TransientError),
])
def test_email_failures(world_a, make_channel, real_providers, smtp_standin, mode, kwargs, error):
    smtp_standin.fail_next(1, mode, **kwargs)
    with pytest.raises(error):
        EmailProvider().send(make_channel(world_a, "email"), MESSAGE)


# --- signed webhooks ------------------------------------------------------------------------

def test_webhook_body_is_signed_and_verifiable(world_a, make_channel, webhook_receiver):
    channel = make_channel(world_a, "webhook", target=webhook_receiver.url("/tocsin"), secret=webhook_receiver.secret)
    WebhookProvider().send(channel, MESSAGE)
    (received,) = webhook_receiver.wait_for(1)
    assert received["verified"] is True and received["json"]["alert_id"] == "alr_x"


def test_webhook_with_the_wrong_secret_is_refused_permanently(world_a, make_channel, webhook_receiver):
    channel = make_channel(world_a, "webhook", target=webhook_receiver.url("/tocsin"), secret="another-secret-value")
    with pytest.raises(PermanentError) as failure:
        WebhookProvider().send(channel, MESSAGE)
    assert failure.value.code == "401"


@pytest.mark.parametrize("status, error", [(410, PermanentError), (503, TransientError), (429, TransientError)])
def test_webhook_statuses(world_a, make_channel, webhook_receiver, status, error):
    channel = make_channel(world_a, "webhook", target=webhook_receiver.url(), secret=webhook_receiver.secret)
    webhook_receiver.fail_next(1, "status", status=status)
    with pytest.raises(error):
        WebhookProvider().send(channel, MESSAGE)
