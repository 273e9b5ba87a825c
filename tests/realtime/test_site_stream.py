"""The board and the stream of a Lisbon-only member hold Lisbon and nothing else.

The ticket carries the member's sites; the stream process drops other sites' events (and
site-less ones) both live and when catching up, while a whole-tenant watcher of the same
tenant receives everything.
"""

from __future__ import annotations

import asyncio
import json
import re

import pytest
import redis
import redis.asyncio as aioredis
from django.conf import settings
from django.test import Client

from apps.alerts.services import alert_raise
from apps.realtime.stream.events import EventLog, event_visible
from apps.realtime.stream.hub import Hub
from apps.realtime.stream.tickets import redeem_ticket
from apps.tenancy.models import Role
from tests.support.sites import porto_ids


def _raise(world, site, key: str):
    return alert_raise(tenant=world.tenant, kind="breach", dedup_key=key, severity="critical",
                       summary=f"Breach {key}", source="rule", site=site).alert


def _json_script(response, element_id: str) -> dict:
    match = re.search(rf'<script id="{element_id}" type="application/json">(.*?)</script>',
                      response.content.decode(), re.S)
    return json.loads(match.group(1))


@pytest.mark.django_db
def test_the_board_of_a_lisbon_member_shows_lisbon_only(harbour):
    client = Client()
    client.force_login(harbour.lisbon_member(Role.STAFF))
    response = client.get("/board/")
    assert response.status_code == 200
    snapshot = _json_script(response, "board-snapshot")
    lisbon = harbour.objects["lisbon"]
    assert [alert["id"] for alert in snapshot["alerts"]] == [lisbon["alert"].public_id]
    assert [site["id"] for site in snapshot["sites"]] == [harbour.lisbon.public_id]
    assert {device["site"] for device in snapshot["devices"]} == {harbour.lisbon.public_id}
    assert {n["alert"] for n in snapshot["notifications"]} == {lisbon["alert"].public_id}
    assert not [needle for needle in porto_ids(harbour) if needle.encode() in response.content]
    assert b"Porto" not in response.content
    focused = client.get("/board/", {"alert": harbour.objects["porto"]["alert"].public_id})
    assert b"Porto" not in focused.content and _json_script(focused, "board-snapshot")["focus"] is None


@pytest.mark.django_db
def test_a_lisbon_ticket_carries_lisbon_and_a_whole_tenant_ticket_no_limit(harbour, client_for):
    async def grant_of(ticket):
        client = aioredis.Redis.from_url(settings.REDIS_URL)
        try:
            return await redeem_ticket(client, prefix=settings.TOCSIN_REALTIME_PREFIX, ticket=ticket)
        finally:
            await client.aclose()

    lisbon = client_for(harbour.lisbon_member(Role.VIEWER)).post("/api/v1/stream/ticket/").json()["ticket"]
    whole = client_for(harbour.owner).post("/api/v1/stream/ticket/").json()["ticket"]
    assert asyncio.run(grant_of(lisbon)).sites == (harbour.lisbon.public_id,)
    assert asyncio.run(grant_of(whole)).sites is None


def test_event_visibility_for_site_scoped_clients():
    sites = frozenset({"site_lisbon"})
    assert event_visible(b"alert.raised", b'{"type":"alert.raised","site":"site_lisbon","data":{}}', sites)
    assert not event_visible(b"alert.raised", b'{"type":"alert.raised","site":"site_porto","data":{}}', sites)
    assert not event_visible(b"alert.raised", b'{"type":"alert.raised","site":null,"data":{}}', sites)
    assert not event_visible(b"alert.raised", b'{not json', sites)
    assert event_visible(b"stream.reset", b'{"type":"stream.reset","site":null,"data":{}}', sites)


@pytest.mark.django_db(transaction=True)
def test_the_stream_of_a_lisbon_member_drops_porto_live_and_on_catch_up(harbour, stream_server, ticket_for):
    lisbon_watcher = stream_server.connect(ticket_for(harbour.lisbon_member(Role.STAFF)))
    whole_watcher = stream_server.connect(ticket_for(harbour.owner))
    porto_alert = _raise(harbour, harbour.porto, "porto-live")
    siteless = alert_raise(tenant=harbour.tenant, kind="external", dedup_key="ext:siteless-live",
                           severity="warning", summary="no site", source="external").alert
    lisbon_alert = _raise(harbour, harbour.lisbon, "lisbon-live")
    assert [whole_watcher.next_event().subject_id for _ in range(3)] == [
        porto_alert.public_id, siteless.public_id, lisbon_alert.public_id]
    assert lisbon_watcher.next_event().subject_id == lisbon_alert.public_id  # Porto's came first, never here
    with pytest.raises(TimeoutError):
        lisbon_watcher.next_event(timeout=0.5)
    lisbon_watcher.close()
    whole_watcher.close()

    replay = stream_server.connect(ticket_for(harbour.lisbon_member(Role.STAFF)), last_event_id="0-0")
    replayed = []
    while True:
        try:
            replayed.append(replay.next_event(timeout=1))
        except TimeoutError:
            break
    replay.close()
    assert replayed and lisbon_alert.public_id in {event.subject_id for event in replayed}
    assert all(event.data.get("site") == harbour.lisbon.public_id for event in replayed)
    stored = redis.Redis.from_url(settings.REDIS_URL).xlen(
        f"{settings.TOCSIN_REALTIME_PREFIX}:events:{harbour.tenant.public_id}")
    assert stored > len(replayed)  # Porto's and the site-less events are in the stream, only not sent here


def test_event_log_and_visibility_agree_on_the_body_shape():
    log = EventLog(redis.Redis.from_url(settings.REDIS_URL), prefix=f"{settings.TOCSIN_REALTIME_PREFIX}-shape",
                   maxlen=10, retention_seconds=60)
    entry = log.append(tenant="ten_shape", event_type="alert.raised", site="site_lisbon", data={"x": 1})
    fields = redis.Redis.from_url(settings.REDIS_URL).xrange(
        f"{settings.TOCSIN_REALTIME_PREFIX}-shape:events:ten_shape", entry, entry)[0][1]
    assert event_visible(fields[b"type"], fields[b"body"], frozenset({"site_lisbon"}))
    assert not event_visible(fields[b"type"], fields[b"body"], frozenset({"site_porto"}))


def test_the_hub_offers_a_site_scoped_subscriber_its_sites_events_only():
    hub = Hub(None, channel="unused", queue_size=10)
    whole, lisbon = hub.add("ten_h"), hub.add("ten_h", ("site_lisbon",))
    for n, (event_type, site) in enumerate([(b"alert.raised", "site_porto"), (b"alert.raised", None),
                                           (b"device.updated", "site_lisbon"), (b"stream.reset", None)], start=1):
        body = json.dumps({"type": event_type.decode(), "site": site, "data": {}}).encode()
        hub._dispatch(b"ten_h|1-%d|%s|%s" % (n, event_type, body))
    assert whole.queue.qsize() == 4
    offered = [lisbon.queue.get_nowait()[0] for _ in range(lisbon.queue.qsize())]
    assert offered == [(1, 3), (1, 4)]
