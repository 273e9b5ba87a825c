"""Channels, policies and raised alerts for any suite that pages, and the real provider SDKs
pointed at the stand-ins.

Registered once, in tests/conftest.py (``from tests.support.notification_fixtures import *``):
a suite's conftest never imports another suite's fixtures.
"""

from __future__ import annotations

import pytest

from apps.alerts.services import alert_raise
from apps.notifications.channels import channel_create
from apps.notifications.policies import policy_save
from tests.support.actors import ACTOR

__all__ = ["make_channel", "make_policy", "raise_alert", "real_providers"]


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


@pytest.fixture
def real_providers(settings, twilio_standin, slack_standin, smtp_standin):
    """Point the real SDKs at the stand-ins, in this process and (as env) for a worker."""
    settings.TWILIO_ACCOUNT_SID = twilio_standin.account_sid
    settings.TWILIO_AUTH_TOKEN = twilio_standin.auth_token
    settings.TWILIO_FROM_NUMBER = "+15005550006"
    settings.TWILIO_API_BASE_URL = twilio_standin.base_url
    settings.SLACK_BOT_TOKEN = slack_standin.token
    settings.SLACK_API_BASE_URL = slack_standin.api_url
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = smtp_standin.host, smtp_standin.port
    settings.EMAIL_ENABLED = True
    settings.TOCSIN_NOTIFY_PROVIDER_TIMEOUT = 2
    settings.EMAIL_TIMEOUT = 2
    return {
        "TWILIO_ACCOUNT_SID": twilio_standin.account_sid, "TWILIO_AUTH_TOKEN": twilio_standin.auth_token,
        "TWILIO_FROM_NUMBER": "+15005550006", "TWILIO_API_BASE_URL": twilio_standin.base_url,
        "SLACK_BOT_TOKEN": slack_standin.token, "SLACK_API_BASE_URL": slack_standin.api_url,
        "EMAIL_URL": smtp_standin.email_url, "TOCSIN_NOTIFY_PROVIDER_TIMEOUT": "2", "EMAIL_TIMEOUT": "2",
    }
