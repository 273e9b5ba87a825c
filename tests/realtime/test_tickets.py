"""Stream tickets: who gets one (the API), and that each opens at most one stream (Redis)."""

from __future__ import annotations

import asyncio
import time

import pytest
import redis
import redis.asyncio as aioredis
from django.conf import settings
from rest_framework.test import APIClient

from apps.audit.services import Actor
from apps.devices.api_keys import api_key_create
from apps.realtime.stream.tickets import StreamGrant, issue_ticket, redeem_ticket
from tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db


def _redeem(ticket):
    async def _go():
        client = aioredis.Redis.from_url(settings.REDIS_URL)
        try:
            return await redeem_ticket(client, prefix=settings.TOCSIN_REALTIME_PREFIX, ticket=ticket)
        finally:
            await client.aclose()

    return asyncio.run(_go())


@pytest.mark.parametrize("role", ["owner", "admin", "staff", "viewer"])
def test_every_role_gets_a_single_use_ticket_for_its_tenant(world_a, client_for, role, settings):
    settings.TOCSIN_STREAM_PUBLIC_URL = "https://stream.example.com/"
    user = getattr(world_a, role)
    response = client_for(user).post("/api/v1/stream/ticket/")
    assert response.status_code == 201
    assert response["Cache-Control"] == "no-store"
    body = response.json()
    assert body["stream_url"] == "https://stream.example.com/api/v1/stream/"
    assert body["tenant"] == world_a.tenant.public_id
    assert body["expires_in"] == settings.TOCSIN_STREAM_TICKET_TTL_SECONDS
    grant = _redeem(body["ticket"])
    assert grant == StreamGrant(tenant=world_a.tenant.public_id, role=role, principal=f"user:{user.pk}")
    assert _redeem(body["ticket"]) is None  # single use


def test_redis_holds_only_a_hash_of_the_ticket_with_a_short_ttl(world_a, client_for):
    ticket = client_for(world_a.staff).post("/api/v1/stream/ticket/").json()["ticket"]
    store = redis.Redis.from_url(settings.REDIS_URL)
    keys = list(store.scan_iter(f"{settings.TOCSIN_REALTIME_PREFIX}:stream-ticket:*"))
    assert keys and not any(ticket.encode() in key for key in keys)
    assert all(ticket.encode() not in store.get(key) for key in keys)
    assert 0 < store.ttl(keys[-1]) <= settings.TOCSIN_STREAM_TICKET_TTL_SECONDS


def test_several_tenants_name_theirs_and_foreign_tenants_are_not_found(world_a, world_b, client_for):
    MembershipFactory(tenant=world_b.tenant, user=world_a.staff, role="viewer")
    client = client_for(world_a.staff)
    assert client.post("/api/v1/stream/ticket/").json()["error"]["code"] == "tenant_required"
    response = client.post("/api/v1/stream/ticket/", HTTP_X_TENANT=world_b.tenant.public_id)
    assert response.status_code == 201 and _redeem(response.json()["ticket"]).role == "viewer"
    outsider = client_for(world_a.viewer)
    assert outsider.post("/api/v1/stream/ticket/", HTTP_X_TENANT=world_b.tenant.public_id).status_code == 404


def test_strangers_get_no_ticket_and_no_detail(world_a):
    response = APIClient().post("/api/v1/stream/ticket/")
    assert response.status_code == 401
    assert response.json()["error"]["message"] == "Authentication required."


def test_api_keys_need_the_read_scope(world_a):
    for scopes, expected in ((["read"], 201), (["write_events"], 403)):
        issued = api_key_create(tenant=world_a.tenant, name="wallboard", scopes=scopes, actor=Actor.system("t"))
        client = APIClient()
        client.credentials(HTTP_X_API_KEY=issued.key)
        response = client.post("/api/v1/stream/ticket/")
        assert response.status_code == expected
        if expected == 201:
            assert _redeem(response.json()["ticket"]).principal == f"api_key:{issued.record.public_id}"


def test_redis_down_answers_503_not_500(world_a, client_for, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    response = client_for(world_a.staff).post("/api/v1/stream/ticket/")
    assert response.status_code == 503 and response.json()["error"]["code"] == "unavailable"


def test_expired_malformed_and_missing_tickets_grant_nothing():
    store = redis.Redis.from_url(settings.REDIS_URL)
    grant = StreamGrant(tenant="ten_unitticket", role="staff", principal="user:1")
    expiring = issue_ticket(store, prefix=settings.TOCSIN_REALTIME_PREFIX, grant=grant, ttl_seconds=1)
    time.sleep(1.1)
    assert _redeem(expiring) is None
    assert _redeem(None) is None and _redeem("") is None
    assert _redeem("short") is None and _redeem("x" * 30 + "/../" + "y" * 10) is None
    valid = issue_ticket(store, prefix=settings.TOCSIN_REALTIME_PREFIX, grant=grant, ttl_seconds=30)
    assert _redeem(valid) == grant
