"""The stream process, for real: uvicorn on the test Redis, clients over HTTP.

Alerts are raised through the services in transactional tests, so the after-commit
hooks publish exactly as they do in production.
"""

from __future__ import annotations

import json
import time

import pytest
import redis
from django.conf import settings

from apps.alerts.services import alert_raise
from apps.realtime.stream.events import EventLog
from apps.realtime.stream.tickets import StreamGrant, issue_ticket

pytestmark = pytest.mark.django_db(transaction=True)


def _raise(world, key: str):
    return alert_raise(tenant=world.tenant, kind="breach", dedup_key=key, severity="critical",
                       summary=f"Breach {key}", source="rule", site=world.site).alert


def _store() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL)


def _raw_ticket(tenant: str) -> str:
    grant = StreamGrant(tenant=tenant, role="staff", principal="user:0")
    return issue_ticket(_store(), prefix=settings.TOCSIN_REALTIME_PREFIX, grant=grant, ttl_seconds=30)


def test_reconnecting_with_last_event_id_receives_exactly_the_missed_alerts_first(
        world_a, stream_server, ticket_for):
    client = stream_server.connect(ticket_for(world_a.staff))
    seen = _raise(world_a, "seen")
    last = client.next_event()
    assert (last.type, last.subject_id) == ("alert.raised", seen.public_id)
    assert last.data["id"] == last.id  # the id is in the JSON too
    client.close()

    missed = [_raise(world_a, f"missed-{n}").public_id for n in range(3)]
    again = stream_server.connect(ticket_for(world_a.staff), last_event_id=last.id)
    after = _raise(world_a, "after-reconnect").public_id

    received = again.events(4)
    assert [event.subject_id for event in received] == [*missed, after]
    assert all(event.type == "alert.raised" for event in received)
    assert len({event.id for event in received}) == 4
    with pytest.raises(TimeoutError):
        again.next_event(timeout=0.5)  # nothing twice
    again.close()


def test_eventsource_style_resume_in_the_query_and_the_legacy_path(world_a, stream_server, ticket_for):
    first = _raise(world_a, "one")
    second = _raise(world_a, "two")
    stream_entries = _store().xrange(f"{settings.TOCSIN_REALTIME_PREFIX}:events:{world_a.tenant.public_id}")
    first_id = stream_entries[0][0].decode()
    client = stream_server.connect(ticket_for(world_a.staff), last_event_id=first_id, resume_in_query=True,
                                   path="/api/events")
    assert client.status == 200
    assert client.next_event().subject_id == second.public_id
    assert first.public_id  # raised before the cursor: not replayed
    client.close()


def test_a_client_of_another_tenant_never_sees_these_events(world_a, world_b, stream_server, ticket_for):
    watcher_b = stream_server.connect(ticket_for(world_b.staff))
    watcher_a = stream_server.connect(ticket_for(world_a.staff))
    alert_a = _raise(world_a, "a-only")
    assert watcher_a.next_event().subject_id == alert_a.public_id
    alert_b = _raise(world_b, "b-only")
    assert watcher_b.next_event().subject_id == alert_b.public_id  # A's came first, and never arrived here
    replay_b = stream_server.connect(ticket_for(world_b.staff), last_event_id="0-0")
    assert replay_b.next_event().subject_id == alert_b.public_id
    with pytest.raises(TimeoutError):
        replay_b.next_event(timeout=0.5)
    for client in (watcher_a, watcher_b, replay_b):
        client.close()


def test_tickets_open_one_stream_once_and_refusals_say_nothing(world_a, stream_server, ticket_for):
    ticket = ticket_for(world_a.staff)
    first = stream_server.connect(ticket)
    assert first.status == 200
    first.close()
    expiring = issue_ticket(_store(), prefix=settings.TOCSIN_REALTIME_PREFIX,
                            grant=StreamGrant(tenant=world_a.tenant.public_id, role="staff", principal="user:0"),
                            ttl_seconds=1)
    time.sleep(1.1)
    for refused in (ticket, expiring, "x" * 43, None):
        client = stream_server.connect(refused)
        assert client.status == 401
        assert json.loads(client.body) == {"error": {"code": "not_authenticated", "message": "Authentication required.",
                                                     "fields": None}}


def test_retry_advice_keepalives_and_headers(stream_server):
    client = stream_server.connect(_raw_ticket("ten_keepalive0"))
    assert client.response.getheader("Content-Type") == "text/event-stream; charset=utf-8"
    assert client.response.getheader("Cache-Control") == "no-store"
    assert client.response.getheader("X-Request-ID")
    with pytest.raises(TimeoutError):
        client.next_event(timeout=1.6)
    assert client.retry == 3000
    assert "keep-alive" in client.comments
    client.close()


def test_resuming_from_history_the_stream_no_longer_holds_asks_for_a_reload(stream_server):
    tenant = "ten_gap0000001"
    log = EventLog(_store(), prefix=settings.TOCSIN_REALTIME_PREFIX, maxlen=100, retention_seconds=60)
    kept = log.append(tenant=tenant, event_type="device.updated", site=None, data={"device": {"id": "dev_x"}})
    client = stream_server.connect(_raw_ticket(tenant), last_event_id="1-0")
    reset, event = client.events(2)
    assert reset.type == "stream.reset" and reset.id is None
    assert (event.type, event.id) == ("device.updated", kept)
    client.close()
    nothing_left = stream_server.connect(_raw_ticket("ten_gapempty01"), last_event_id="1-0")
    assert nothing_left.next_event().type == "stream.reset"
    nothing_left.close()


def test_a_lost_redis_subscription_loses_no_event(stream_server):
    tenant = "ten_resubscribe"
    client = stream_server.connect(_raw_ticket(tenant))
    store = _store()
    name = f"tocsin-stream:{stream_server.process.pid}"
    ours = [entry for entry in store.client_list(_type="pubsub") if entry["name"] == name]
    assert len(ours) == 1
    store.client_kill_filter(_id=ours[0]["id"])
    log = EventLog(store, prefix=settings.TOCSIN_REALTIME_PREFIX, maxlen=100, retention_seconds=60)
    published = [log.append(tenant=tenant, event_type="alert.updated", site=None, data={"alert": {"id": f"alr_{n}"}})
                 for n in range(3)]
    assert [event.id for event in client.events(3, timeout=10)] == published
    client.close()


@pytest.mark.parametrize("query, status", [("?ticket=x&lastEventId=yesterday", 400), ("", 401),
                                           ("?" + "&".join(f"p{n}=1" for n in range(20)), 400)])
def test_bad_requests(stream_server, query, status):
    import urllib.error
    import urllib.request

    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"{stream_server.url}/api/v1/stream/{query}", timeout=5)
    assert refused.value.code == status
    for path, method, expected in (("/api/v1/stream/", "POST", 405), ("/elsewhere", "GET", 404)):
        request = urllib.request.Request(f"{stream_server.url}{path}", method=method)
        with pytest.raises(urllib.error.HTTPError) as answer:
            urllib.request.urlopen(request, timeout=5)
        assert answer.value.code == expected


def test_no_ticket_ever_reaches_the_log_and_lines_are_structured(world_a, stream_server, ticket_for):
    used = ticket_for(world_a.staff)
    stream_server.connect(used).close()
    refused = stream_server.connect(used)
    assert refused.status == 401
    time.sleep(0.3)
    log = stream_server.read_log()
    assert used not in log and "ticket=" not in log
    records = stream_server.log_records()
    opened = [record for record in records if record["message"] == "stream opened"]
    assert opened and all(record["request_id"] != "-" for record in opened)
    assert any(record["message"] == "stream request" and record["status"] == 401 and record["request_id"] != "-"
               for record in records)
