"""Helpers for answering pages: people reachable at a contact method, policies naming
channels and people, pages really sent through the stand-ins, and requests signed the way
Twilio signs them.

Plain functions, shared by tests/responses and tests/e2e; the settings they rely on (the
public base URL Twilio signs, Slack's signing secret) are set by tests/responses/conftest.py.
"""

from __future__ import annotations

from django.conf import settings

from apps.notifications.delivery import deliver
from apps.notifications.models import Notification
from apps.oncall.contacts import contact_method_create
from apps.oncall.models import ContactMethod
from tests.support.actors import ACTOR

PUBLIC = "https://tocsin.example.com"  # what Twilio and Slack are told; requests land on the test server
SLACK_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"  # noqa: S105 (a test signing secret)


def contact(world, user, kind: str, address: str) -> ContactMethod:
    return contact_method_create(tenant=world.tenant, user=user, kind=kind, address=address, actor=ACTOR)


def person(world, user, kind: str, address: str):
    """`user` reachable at `address` (no rules: paged there as soon as a step names them);
    a step naming them pages their personal channel, which the notification engine makes."""
    contact(world, user, kind, address)
    return user


def policy(world, steps, **options):
    """A policy whose steps name channels and people: [(delay, [Channel or user, ...])]."""
    from django.contrib.auth import get_user_model

    from apps.notifications.policies import policy_save

    User = get_user_model()  # noqa: N806
    return policy_save(tenant=world.tenant, actor=ACTOR, name=options.pop("name", "policy"),
                       kinds=options.pop("kinds", []),
                       steps=[{"delay_minutes": delay,
                               "channels": [t for t in targets if not isinstance(t, User)],
                               "users": [t for t in targets if isinstance(t, User)]} for delay, targets in steps],
                       **options)


def send_pages(alert) -> list[Notification]:
    """Deliver the alert's pending rows in this process (the worker's code, the real SDKs)."""
    rows = list(Notification.objects.filter(alert=alert, status="pending").order_by("id"))
    for row in rows:
        deliver(row.pk)
    return list(Notification.objects.filter(pk__in=[r.pk for r in rows]).order_by("id"))


def twilio_post(client, standin, path: str, params: dict, *, forge: bool = False):
    signature = standin.sign(f"{settings.TOCSIN_PUBLIC_BASE_URL}{path}", params, forge=forge)
    return client.post(path, params, HTTP_X_TWILIO_SIGNATURE=signature)


def sms_reply(client, standin, from_: str, body: str, **kwargs):
    return twilio_post(client, standin, "/hooks/twilio/inbound/", standin.inbound_params(from_, body), **kwargs)
