"""Delivery of outbox rows (console provider here; real SDKs in test_providers and e2e)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection
from django.utils import timezone
from twilio.request_validator import RequestValidator

from apps.alerts.services import alert_acknowledge
from apps.audit.services import Actor
from apps.notifications.delivery import deliver, replay
from apps.notifications.models import Channel, Notification

pytestmark = pytest.mark.django_db


def test_console_delivery_marks_sent_and_adds_to_timeline(world_a, make_channel, make_policy, raise_alert):
    make_policy(world_a, [(0, [make_channel(world_a)])])
    alert = raise_alert(world_a)
    row = Notification.objects.get(alert=alert)
    assert deliver(row.pk).status == "sent"
    row.refresh_from_db()
    assert row.status == "sent" and row.attempts == 1 and row.provider == "console" and row.sent_at
    assert alert.events.filter(kind="notified").exists()
    assert deliver(row.pk).status == "skipped"  # a redelivered task finds it sent
    row.refresh_from_db()
    assert row.attempts == 1


def test_acknowledged_alert_is_not_paged(world_a, make_channel, make_policy, raise_alert, committed):
    make_policy(world_a, [(0, [make_channel(world_a)])])
    alert = raise_alert(world_a)
    row = Notification.objects.get(alert=alert)
    with committed():
        alert_acknowledge(alert=alert, actor=Actor.system("t"))
    row.refresh_from_db()
    assert row.status == "cancelled"
    assert deliver(row.pk).status == "skipped"


def test_acknowledgement_is_told_to_the_channels_paged(world_a, make_channel, make_policy, raise_alert,
                                                       committed):
    channel = make_channel(world_a)
    make_policy(world_a, [(0, [channel])], notify_on_acknowledge=True)
    alert = raise_alert(world_a)
    deliver(Notification.objects.get(alert=alert).pk)
    with committed():
        alert_acknowledge(alert=alert, actor=Actor(type="user", id="1", label="Ana"))
    notice = Notification.objects.get(alert=alert, purpose="ack")
    assert notice.channel == channel and deliver(notice.pk).status == "sent"


def test_sms_to_one_number_within_the_window_is_one_message(world_a, make_channel, make_policy, raise_alert):
    channel = make_channel(world_a, "sms")
    make_policy(world_a, [(0, [channel])])
    alerts = [raise_alert(world_a, key=f"k{i}") for i in range(3)]
    first = Notification.objects.get(alert=alerts[0])
    assert deliver(first.pk).status == "sent"
    rows = list(Notification.objects.filter(alert__in=alerts))
    assert {row.status for row in rows} == {"sent"}
    assert len({row.provider_message_id for row in rows}) == 1
    assert sum(1 for row in rows if row.bundled_into_id == first.pk) == 2


def test_disabled_channel_cancels(world_a, make_channel, make_policy, raise_alert):
    channel = make_channel(world_a)
    make_policy(world_a, [(0, [channel])])
    alert = raise_alert(world_a)
    Channel.objects.filter(pk=channel.pk).update(enabled=False)
    row = Notification.objects.get(alert=alert)
    assert deliver(row.pk).status == "skipped"
    row.refresh_from_db()
    assert row.status == "cancelled" and row.last_error == "channel disabled"


def test_not_yet_due_rows_wait(world_a, make_channel, make_policy, raise_alert):
    make_policy(world_a, [(0, [make_channel(world_a)])])
    row = Notification.objects.get(alert=raise_alert(world_a))
    Notification.objects.filter(pk=row.pk).update(due_at=timezone.now() + timedelta(minutes=5))
    assert deliver(row.pk).status == "skipped"
    row.refresh_from_db()
    assert row.status == "pending" and row.attempts == 0


def test_replay_puts_dead_rows_back(world_a, make_channel, make_policy, raise_alert):
    make_policy(world_a, [(0, [make_channel(world_a)])])
    row = Notification.objects.get(alert=raise_alert(world_a))
    Notification.objects.filter(pk=row.pk).update(status="dead", attempts=5, dead_at=timezone.now())
    replayed = replay(row)
    assert replayed.status == "pending" and replayed.attempts == 0
    assert deliver(row.pk).status == "sent"


def test_channel_secrets_are_encrypted_at_rest_and_rotate(world_a, make_channel, settings):
    channel = make_channel(world_a, "webhook", secret="very-secret-signing-key")
    with connection.cursor() as cursor:
        cursor.execute("SELECT secret_encrypted FROM notifications_channel WHERE id = %s", [channel.pk])
        stored = cursor.fetchone()[0]
    assert "very-secret" not in stored
    new_key = Fernet.generate_key().decode()
    settings.TOCSIN_ENCRYPTION_KEYS = [new_key, *settings.TOCSIN_ENCRYPTION_KEYS]
    call_command("rotate_encryption_keys", stdout=open("/dev/null", "w"))  # noqa: SIM115
    settings.TOCSIN_ENCRYPTION_KEYS = [new_key]  # the old key is gone now
    assert Channel.objects.get(pk=channel.pk).secret == "very-secret-signing-key"


def _signed_post(client, settings, params: dict, *, forge: bool = False):
    url = f"{settings.TOCSIN_PUBLIC_BASE_URL}/hooks/twilio/status/"
    signature = RequestValidator(settings.TWILIO_AUTH_TOKEN).compute_signature(url, params)
    return client.post("/hooks/twilio/status/", params,
                       HTTP_X_TWILIO_SIGNATURE="forged" + signature if forge else signature)


def test_twilio_status_callback_verified_by_signature(world_a, make_channel, make_policy, raise_alert, client,
                                                      settings):
    settings.TWILIO_AUTH_TOKEN = "twilio-auth-token-for-tests"
    make_policy(world_a, [(0, [make_channel(world_a)])])
    row = Notification.objects.get(alert=raise_alert(world_a))
    Notification.objects.filter(pk=row.pk).update(status="sent", provider="twilio",
                                                  provider_message_id="SM" + "a" * 32)
    params = {"MessageSid": "SM" + "a" * 32, "MessageStatus": "undelivered", "ErrorCode": "30003",
              "AccountSid": "AC" + "b" * 32}
    forged = _signed_post(client, settings, params, forge=True)
    assert forged.status_code == 403
    row.refresh_from_db()
    assert row.receipt_status == ""
    assert _signed_post(client, settings, params).status_code == 204
    row.refresh_from_db()
    assert row.receipt_status == "undelivered" and row.receipt_error_code == "30003"
    assert client.post("/hooks/twilio/status/", params).status_code == 403  # no signature at all
