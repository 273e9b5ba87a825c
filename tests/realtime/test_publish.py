"""Publishing: after commit, to the tenant's Redis stream and the one channel; never failing."""

from __future__ import annotations

import json
import logging
import time

import pytest
import redis
from django.conf import settings
from django.utils import timezone

from apps.alerts.services import alert_acknowledge, alert_raise
from apps.audit.services import Actor
from apps.common.redis_guard import reset_breakers
from apps.notifications.delivery import deliver
from apps.notifications.models import Notification
from apps.realtime import publish
from apps.realtime.stream.events import EventLog, channel_name, stream_key

pytestmark = pytest.mark.django_db


@pytest.fixture
def store():
    return redis.Redis.from_url(settings.REDIS_URL)


@pytest.fixture(autouse=True)
def _publisher_state():
    """The Redis breakers and the memory of dropped tenants are per process: start clean."""
    reset_breakers()
    publish._dropped_tenants.clear()
    yield
    reset_breakers()
    publish._dropped_tenants.clear()


def _events(store, tenant) -> list[tuple[str, dict]]:
    return [(entry_id.decode(), {"type": fields[b"type"].decode(), **json.loads(fields[b"body"])})
            for entry_id, fields in store.xrange(stream_key(settings.TOCSIN_REALTIME_PREFIX, tenant.public_id))]


def _raise(world, key="breach-1", severity="critical"):
    return alert_raise(tenant=world.tenant, kind="breach", dedup_key=key, severity=severity,
                       summary="Breach in room 101", source="rule", site=world.site).alert


def test_event_log_appends_trims_by_age_expires_and_announces_in_one_step(store):
    prefix, tenant = settings.TOCSIN_REALTIME_PREFIX, "ten_unit0log"
    log = EventLog(store, prefix=prefix, maxlen=100, retention_seconds=1)
    listener = store.pubsub(ignore_subscribe_messages=True)
    listener.subscribe(channel_name(prefix))
    listener.get_message(timeout=1)
    first = log.append(tenant=tenant, event_type="alert.raised", site="site_x", data={"n": 1})
    announced = listener.get_message(timeout=2)["data"]
    assert announced.split(b"|", 3)[:3] == [tenant.encode(), first.encode(), b"alert.raised"]
    assert json.loads(announced.split(b"|", 3)[3]) == {"type": "alert.raised", "tenant": tenant, "site": "site_x",
                                                      "data": {"n": 1}}
    assert 0 < store.ttl(stream_key(prefix, tenant)) <= 1
    time.sleep(1.1)
    second = log.append(tenant=tenant, event_type="alert.updated", site=None, data={"n": 2})
    assert [entry_id.decode() for entry_id, _ in store.xrange(stream_key(prefix, tenant))] == [second]
    listener.close()


def test_alert_changes_are_published_after_commit_only(world_a, store, committed):
    with committed():
        alert = _raise(world_a)
        assert _events(store, world_a.tenant) == []  # not before the commit
    ((raised_id, raised),) = _events(store, world_a.tenant)
    assert raised["type"] == "alert.raised" and raised["tenant"] == world_a.tenant.public_id
    assert raised["site"] == world_a.site.public_id
    assert raised["data"]["change"] == "raised"
    assert raised["data"]["alert"]["id"] == alert.public_id
    assert raised["data"]["alert"]["severity"] == "critical" and raised["data"]["alert"]["status"] == "triggered"

    with committed():
        _raise(world_a)
    with committed():
        alert_acknowledge(alert=alert, actor=Actor(type="user", id="1", label="Ana"), note="on my way")
    (_, duplicate), (_, acknowledged) = _events(store, world_a.tenant)[1:]
    assert duplicate["type"] == "alert.updated" and duplicate["data"]["change"] == "duplicate"
    assert duplicate["data"]["alert"]["count"] == 2
    assert acknowledged["data"]["change"] == "acknowledged" and acknowledged["data"]["actor"] == "Ana"
    assert acknowledged["data"]["alert"]["acknowledged_by_label"] == "Ana"


def test_device_changes_are_published(world_a, device_client, store, committed):
    device, client = device_client(world_a.site)
    with committed():
        response = client.post("/api/v1/heartbeats/", {"sent_at": timezone.now().isoformat(),
                                                       "battery": {"level": 64, "charging": False}}, format="json")
    assert response.status_code == 202, response.content
    ((_, event),) = [e for e in _events(store, world_a.tenant) if e[1]["type"] == "device.updated"]
    assert event["site"] == world_a.site.public_id
    assert event["data"]["changes"] == ["online", "battery"]  # its first report, with a new level
    assert event["data"]["device"]["id"] == device.public_id
    assert event["data"]["device"]["battery_level"] == 64 and event["data"]["device"]["state"] == "online"


def test_delivery_outcomes_are_published(world_a, make_channel, make_policy, store, committed):  # noqa: F811
    make_policy(world_a, [(0, [make_channel(world_a, name="Front desk")])])
    alert = _raise(world_a)
    row = Notification.objects.get(alert=alert)
    with committed():
        assert deliver(row.pk).status == "sent"
    ((_, event),) = [e for e in _events(store, world_a.tenant) if e[1]["type"] == "notification.updated"]
    notification = event["data"]["notification"]
    assert notification["id"] == row.public_id and notification["alert"] == alert.public_id
    assert notification["status"] == "sent" and notification["channel_name"] == "Front desk"
    assert event["site"] == world_a.site.public_id


def test_redis_down_is_logged_never_raised_and_tenants_are_told_to_reload(world_a, store, committed, settings,
                                                                        caplog):
    working_url = settings.REDIS_URL
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    with caplog.at_level(logging.WARNING, logger="apps.realtime.publish"), committed():
        alert = _raise(world_a)
    assert alert.pk  # the change itself went through
    assert any(record.getMessage() == "live event dropped: Redis unavailable" for record in caplog.records)
    assert world_a.tenant.public_id in publish._dropped_tenants

    settings.REDIS_URL = working_url
    with committed():
        alert_acknowledge(alert=alert, actor=Actor.system("t"))
    types = [event["type"] for _, event in _events(store, world_a.tenant)]
    assert types == ["stream.reset", "alert.updated"]


def test_a_failing_receiver_never_breaks_the_commit(world_a, store, committed, monkeypatch, caplog):
    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr("apps.realtime.receivers.payloads.alert_payload", broken)
    with caplog.at_level(logging.ERROR, logger="apps.realtime.receivers"), committed():
        alert = _raise(world_a)
    assert alert.pk and _events(store, world_a.tenant) == []
    assert any(record.getMessage() == "live event not published" for record in caplog.records)


def test_hand_built_alert_payload_matches_the_rest_serializer(world_a):
    from apps.alerts.api.serializers import AlertSerializer
    from apps.realtime.payloads import alert_payload
    from tests.factories import DeviceFactory

    device = DeviceFactory(site=world_a.site)
    alert = alert_raise(tenant=world_a.tenant, kind="breach", dedup_key="shape", severity="critical",
                        summary="shape check", source="rule", site=world_a.site, device=device,
                        details={"rssi": -90}).alert
    alert = alert_acknowledge(alert=alert, actor=Actor.system("t"))
    alert.refresh_from_db()
    assert alert_payload(alert) == dict(AlertSerializer(alert).data)
    bare = alert_raise(tenant=world_a.tenant, kind="external", dedup_key="bare", severity="info", summary="x",
                       source="external").alert
    bare.refresh_from_db()
    assert alert_payload(bare) == dict(AlertSerializer(bare).data)


def test_hand_built_notification_payload_matches_the_rest_serializer(world_a, make_channel, make_policy):  # noqa: F811
    from apps.notifications.api.serializers import NotificationSerializer
    from apps.realtime.payloads import notification_payload

    make_policy(world_a, [(0, [make_channel(world_a, name="Front desk")])])
    alert = _raise(world_a)
    row = Notification.objects.get(alert=alert)
    for _ in range(2):  # pending, then sent
        row = Notification.objects.select_related("alert", "channel").get(pk=row.pk)
        assert notification_payload(row) == dict(NotificationSerializer(row).data)
        deliver(row.pk)
