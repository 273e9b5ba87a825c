"""Channels and policies for notification tests."""

from __future__ import annotations

import pytest

from apps.alerts.services import alert_raise
from apps.audit.services import Actor
from apps.notifications.policies import policy_save
from apps.notifications.services import channel_create

ACTOR = Actor.system("test")


@pytest.fixture
def make_channel():
    def _make(world, kind="sms", target=None, secret="", name=None):
        target = target or {"sms": "+351912345678", "slack": "C0SECURITY", "email": "ops@example.com",
                             "webhook": "http://127.0.0.1:9/hook"}[kind]
        if kind == "webhook" and not secret:
            secret = "s" * 24
        return channel_create(tenant=world.tenant, name=name or f"{kind} channel", kind=kind, target=target,
                              secret=secret, actor=ACTOR)

    return _make


@pytest.fixture
def make_policy():
    def _make(world, steps, kinds=None, **options):
        return policy_save(tenant=world.tenant, actor=ACTOR, name=options.pop("name", "policy"), kinds=kinds or [],
                           steps=[{"delay_minutes": delay, "channels": channels} for delay, channels in steps],
                           **options)

    return _make


@pytest.fixture
def raise_alert():
    def _raise(world, key="breach-1", kind="breach", severity="critical"):
        return alert_raise(tenant=world.tenant, kind=kind, dedup_key=key, severity=severity,
                           summary=f"{kind} in room 101", source="rule", site=world.site).alert

    return _raise
