"""Emailed pages to a person carry signed single-use links: GET shows a confirmation page
and changes nothing (mail scanners prefetch), POST acts once; reuse and expiry are refused."""

from __future__ import annotations

import re
import time
from datetime import timedelta
from unittest import mock

import pytest
from django.core import signing

from apps.alerts.models import Alert
from apps.audit.models import AuditEntry
from apps.notifications import action_links
from tests.support.answering import PUBLIC, person, policy, send_pages

pytestmark = pytest.mark.django_db


@pytest.fixture
def emailed(world_a, make_policy, raise_alert, real_providers, smtp_standin):
    channel = person(world_a, world_a.staff, "email", "ana@example.com")
    policy(world_a, [(0, [channel])], notify_on_acknowledge=False)
    alert = raise_alert(world_a)
    send_pages(alert)
    (mail,) = smtp_standin.messages
    links = dict(re.findall(rf"^(Acknowledge|Resolve): {re.escape(PUBLIC)}(/respond/email/\S+/)$", mail["body"],
                            re.MULTILINE))
    return alert, links


def test_the_email_carries_both_links_and_get_only_confirms(emailed, client):
    alert, links = emailed
    assert set(links) == {"Acknowledge", "Resolve"}
    for _ in range(3):  # a scanner, a preview, the person: none of them acts
        page = client.get(links["Acknowledge"])
        assert page.status_code == 200 and b"<form method=\"post\">" in page.content
        assert b"do you want to <strong>acknowledge</strong>" in page.content
    assert page["Referrer-Policy"] == "no-referrer" and "no-cache" in page["Cache-Control"]
    assert Alert.objects.get(pk=alert.pk).status == "triggered"


def test_post_acknowledges_once_and_reuse_is_refused(emailed, world_a, client):
    alert, links = emailed
    done = client.post(links["Acknowledge"])
    assert done.status_code == 200 and b"Acknowledged by" in done.content
    alert.refresh_from_db()
    assert alert.status == "acknowledged" and alert.acknowledged_by == world_a.staff
    assert alert.events.get(kind="acknowledged").data == {"via": "email"}
    assert AuditEntry.objects.filter(action="alert.acknowledged", details__via="email").exists()

    again = client.post(links["Acknowledge"])
    assert again.status_code == 410 and b"used already" in again.content
    assert client.get(links["Acknowledge"]).status_code == 410
    # The other link is its own: still good.
    assert client.post(links["Resolve"]).status_code == 200
    assert Alert.objects.get(pk=alert.pk).status == "resolved"


def test_expired_links_are_refused(emailed, client, settings):
    alert, links = emailed
    a_day_later = time.time() + timedelta(hours=24, minutes=1).total_seconds()
    with mock.patch("django.core.signing.time.time", return_value=a_day_later):  # the signer's clock
        assert client.get(links["Acknowledge"]).status_code == 410
        response = client.post(links["Acknowledge"])
    assert response.status_code == 410 and b"expired" in response.content
    assert Alert.objects.get(pk=alert.pk).status == "triggered"
    assert settings.TOCSIN_ACTION_LINK_MAX_AGE_HOURS == 24  # the production lifetime, not a shortened one


@pytest.mark.parametrize("mangle", [lambda t: t[:-2] + ("aa" if not t.endswith("aa") else "bb"),
                                    lambda t: "x" * 500, lambda t: "garbage"])
def test_tampered_links_are_not_found(mangle, emailed, client):
    alert, links = emailed
    token = links["Acknowledge"].removeprefix("/respond/email/").rstrip("/")
    assert client.post(f"/respond/email/{mangle(token)}/").status_code == 404
    assert Alert.objects.get(pk=alert.pk).status == "triggered"


def test_a_link_made_for_another_tenant_acts_on_nothing(emailed, world_b, raise_alert, client):
    other = raise_alert(world_b)
    token = signing.dumps({"a": other.public_id, "u": world_b.admin.pk, "t": emailed[0].tenant_id,
                           "x": "acknowledge", "n": "n1"}, salt=action_links.SALT, compress=True)
    assert client.post(f"/respond/email/{token}/").status_code == 404
    assert Alert.objects.get(pk=other.pk).status == "triggered"


def test_a_person_who_lost_access_is_refused_and_the_link_stays_unspent(emailed, world_a, client):
    from apps.tenancy.models import Membership

    alert, links = emailed
    Membership.objects.filter(tenant=world_a.tenant, user=world_a.staff).update(role="viewer")
    assert client.post(links["Acknowledge"]).status_code == 403
    Membership.objects.filter(tenant=world_a.tenant, user=world_a.staff).update(role="staff")
    assert client.post(links["Acknowledge"]).status_code == 200


def test_plain_email_channels_get_no_links(world_a, make_channel, make_policy, raise_alert, real_providers,
                                           smtp_standin):
    policy(world_a, [(0, [make_channel(world_a, "email")])])
    send_pages(raise_alert(world_a))
    (mail,) = smtp_standin.messages
    assert "/respond/email/" not in mail["body"]


def test_spent_nonces_are_purged_after_the_links_life(emailed, client):
    from django.utils import timezone

    from apps.responses.models import SpentNonce
    from apps.responses.nonces import purge_spent_nonces

    client.post(emailed[1]["Acknowledge"])
    assert purge_spent_nonces() == 0
    assert purge_spent_nonces(now=timezone.now() + timedelta(hours=26)) == 1
    assert not SpentNonce.objects.exists()


@pytest.mark.parametrize(("role", "status"), [("owner", 200), ("admin", 200), ("staff", 200), ("viewer", 403)])
def test_every_operator_role_acts_by_link_and_a_viewer_does_not(role, status, world_a, raise_alert, client):
    user = getattr(world_a, role)
    alert = raise_alert(world_a)
    token = action_links.make_token(alert=alert, user_id=user.pk, action="acknowledge")
    assert client.get(f"/respond/email/{token}/").status_code == 200
    assert client.post(f"/respond/email/{token}/").status_code == status
    assert Alert.objects.get(pk=alert.pk).status == ("acknowledged" if status == 200 else "triggered")
