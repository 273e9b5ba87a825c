"""The board page: who may open it, for which tenant, and what it starts from."""

from __future__ import annotations

import json
import re

import pytest
import redis
from django.conf import settings
from django.test import Client

from apps.alerts.services import alert_raise
from apps.realtime.stream.events import EventLog
from tests.factories import DeviceFactory, MembershipFactory

pytestmark = pytest.mark.django_db


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _json_script(response, element_id: str) -> dict:
    match = re.search(rf'<script id="{element_id}" type="application/json">(.*?)</script>',
                      response.content.decode(), re.S)
    return json.loads(match.group(1))


def test_strangers_are_sent_to_sign_in():
    response = Client().get("/board/")
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/?next=/board/")


def test_the_board_starts_from_a_snapshot_and_the_stream_position_taken_before_it(world_a, world_b):
    EventLog(redis.Redis.from_url(settings.REDIS_URL), prefix=settings.TOCSIN_REALTIME_PREFIX, maxlen=100,
             retention_seconds=60).append(tenant=world_a.tenant.public_id, event_type="alert.updated", site=None,
                                          data={})
    mine = alert_raise(tenant=world_a.tenant, kind="breach", dedup_key="k", severity="critical", summary="Room 101",
                       source="rule", site=world_a.site).alert
    alert_raise(tenant=world_b.tenant, kind="breach", dedup_key="k", severity="critical", summary="B's room",
                source="rule", site=world_b.site)
    device = DeviceFactory(site=world_a.site)
    response = _client(world_a.staff).get("/board/")
    assert response.status_code == 200
    snapshot, config = _json_script(response, "board-snapshot"), _json_script(response, "board-config")
    assert [alert["id"] for alert in snapshot["alerts"]] == [mine.public_id]
    assert [d["id"] for d in snapshot["devices"]] == [device.public_id]
    assert snapshot["devices"][0]["state"] == "never_seen"
    assert [site["id"] for site in snapshot["sites"]] == [world_a.site.public_id]
    assert config["tenant"] == world_a.tenant.public_id and config["canAct"] is True
    stream = redis.Redis.from_url(settings.REDIS_URL).xrevrange(
        f"{settings.TOCSIN_REALTIME_PREFIX}:events:{world_a.tenant.public_id}", count=1)
    assert config["resumeFrom"] == stream[0][0].decode()  # the newest event when the page was built
    assert config["ticketUrl"] == "/api/v1/stream/ticket/" and config["alertsUrl"] == "/api/v1/alerts/"
    assert b"B's room" not in response.content


def test_viewers_watch_without_buttons(world_a):
    config = _json_script(_client(world_a.viewer).get("/board/"), "board-config")
    assert config["canAct"] is False


def test_people_with_several_tenants_choose_and_cannot_name_a_foreign_one(world_a, world_b, make_world):
    MembershipFactory(tenant=world_b.tenant, user=world_a.staff)
    client = _client(world_a.staff)
    choice = client.get("/board/")
    assert choice.status_code == 200 and b"Which tenant?" in choice.content
    assert world_b.tenant.public_id.encode() in choice.content
    assert _json_script(client.get(f"/board/?tenant={world_b.tenant.public_id}"),
                        "board-config")["tenant"] == world_b.tenant.public_id
    stranger = make_world(name="Tenant C", slug="tenant-c").tenant
    assert client.get(f"/board/?tenant={stranger.public_id}").status_code == 404
    assert client.get("/board/?tenant=nonsense").status_code == 404
