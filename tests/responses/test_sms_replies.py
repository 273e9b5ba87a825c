"""Answering a page by SMS through Twilio's inbound webhook, signed as Twilio signs it."""

from __future__ import annotations

import re

import pytest

from apps.alerts.models import Alert
from apps.audit.models import AuditEntry
from apps.notifications.escalation import escalation_tick
from apps.notifications.models import Notification
from apps.responses.models import SpentNonce
from tests.factories import MembershipFactory
from tests.support.answering import contact, person, policy, send_pages, sms_reply

pytestmark = pytest.mark.django_db
ANA = "+351912345601"
BEA = "+351912345602"


def _code(body: str) -> str:
    return re.search(r"\(code ([A-Z0-9]+)\)", body).group(1)


@pytest.fixture
def paged(world_a, make_policy, raise_alert, tele):
    """Ana (staff of tenant A) paged by SMS on her own number; an email step five minutes later."""
    sms = person(world_a, world_a.staff, "sms", ANA)
    policy(world_a, [(0, [sms])], notify_on_acknowledge=False)
    alert = raise_alert(world_a)
    send_pages(alert)
    return alert


def test_a_page_says_how_to_answer_and_reply_1_acknowledges_as_the_person(paged, world_a, tele, client):
    (sent,) = tele.messages
    assert "Reply 1 to acknowledge, 2 to resolve, 3 to snooze 30 min (code " in sent["body"]
    code = _code(sent["body"])
    assert Alert.objects.get(pk=paged.pk).reply_code == code

    response = sms_reply(client, tele, ANA, " 1 ")
    assert response.status_code == 200 and response["Content-Type"].startswith("application/xml")
    assert "<Response><Message>Tocsin: Acknowledged by" in response.content.decode()
    alert = Alert.objects.get(pk=paged.pk)
    assert alert.status == "acknowledged" and alert.acknowledged_by == world_a.staff
    event = alert.events.get(kind="acknowledged")
    assert (event.actor_type, event.data) == ("user", {"via": "sms"})
    entry = AuditEntry.objects.filter(tenant=world_a.tenant, action="alert.acknowledged").get()
    assert entry.details["via"] == "sms" and entry.actor_id == str(world_a.staff.pk)


def test_acknowledging_stops_the_next_step(world_a, make_channel, make_policy, raise_alert, tele, client):
    from datetime import timedelta

    from django.db.models import F

    sms = person(world_a, world_a.staff, "sms", ANA)
    policy(world_a, [(0, [sms]), (5, [make_channel(world_a, "email")])])
    alert = raise_alert(world_a)
    send_pages(alert)
    assert sms_reply(client, tele, ANA, "1").status_code == 200
    Alert.objects.filter(pk=alert.pk).update(created_at=F("created_at") - timedelta(minutes=6))
    assert escalation_tick() == 0
    assert not Notification.objects.filter(alert=alert, step=1).exists()


def test_reply_2_resolves_and_a_second_reply_changes_nothing(paged, tele, client):
    assert "Resolved by" in sms_reply(client, tele, ANA, "2").content.decode()
    assert "Already resolved" in sms_reply(client, tele, ANA, "2").content.decode()
    assert "already resolved" in sms_reply(client, tele, ANA, "1").content.decode()
    assert Alert.objects.get(pk=paged.pk).events.filter(kind="resolved").count() == 1


def test_reply_3_snoozes_for_30_minutes(paged, tele, client):
    from datetime import timedelta

    from django.utils import timezone

    answer = sms_reply(client, tele, ANA, "3").content.decode()
    assert "Snoozed by" in answer
    alert = Alert.objects.get(pk=paged.pk)
    assert alert.status == "triggered" and alert.is_snoozed()
    assert timedelta(minutes=29) < alert.snoozed_until - timezone.now() <= timedelta(minutes=30)
    assert alert.events.get(kind="snoozed").data["via"] == "sms"
    assert "Acknowledged by" in sms_reply(client, tele, ANA, "1").content.decode()  # snoozed is still triggered
    assert "Nothing to snooze: it is acknowledged" in sms_reply(client, tele, ANA, "3").content.decode()


def test_the_same_message_delivered_twice_acts_once(paged, tele, client):
    from tests.support.answering import twilio_post

    params = tele.inbound_params(ANA, "1")
    assert "Acknowledged by" in twilio_post(client, tele, "/hooks/twilio/inbound/", params).content.decode()
    assert "received already" in twilio_post(client, tele, "/hooks/twilio/inbound/", params).content.decode()
    assert SpentNonce.objects.filter(scope="sms").count() == 1


def test_forged_or_unsigned_replies_are_refused_with_403(paged, tele, client):
    assert sms_reply(client, tele, ANA, "1", forge=True).status_code == 403
    assert client.post("/hooks/twilio/inbound/", tele.inbound_params(ANA, "1")).status_code == 403
    # Signed for another URL (what a proxy's Host would give): refused too.
    params = tele.inbound_params(ANA, "1")
    signature = tele.sign("http://testserver/hooks/twilio/inbound/", params)
    assert client.post("/hooks/twilio/inbound/", params, HTTP_X_TWILIO_SIGNATURE=signature).status_code == 403
    assert Alert.objects.get(pk=paged.pk).status == "triggered"


def test_another_tenants_number_changes_nothing(paged, world_b, tele, client):
    contact(world_b, world_b.staff, "sms", BEA)
    code = _code(tele.messages[0]["body"])
    assert "Nothing was changed" in sms_reply(client, tele, BEA, "1").content.decode()
    assert "Nothing was changed" in sms_reply(client, tele, BEA, f"1 {code}").content.decode()
    assert "not set up" in sms_reply(client, tele, "+351912345699", "1").content.decode()
    assert Alert.objects.get(pk=paged.pk).status == "triggered"


def test_an_unknown_code_is_refused_and_garbage_gets_help(paged, tele, client):
    assert "no alert paged to this number has that code" in sms_reply(client, tele, ANA, "1 QQQQ").content.decode()
    assert "reply 1 to acknowledge" in sms_reply(client, tele, ANA, "yes please").content.decode()
    assert "reply 1 to acknowledge" in sms_reply(client, tele, ANA, "9").content.decode()
    assert Alert.objects.get(pk=paged.pk).status == "triggered"


def test_a_code_picks_the_alert_when_several_are_open(world_a, make_policy, raise_alert, tele, client):
    sms = person(world_a, world_a.staff, "sms", ANA)
    policy(world_a, [(0, [sms])], notify_on_acknowledge=False)
    first, second = raise_alert(world_a, key="door-1"), raise_alert(world_a, key="door-2")
    send_pages(first)
    send_pages(second)
    bodies = " ".join(m["body"] for m in tele.messages)
    codes = re.findall(r"\[([A-Z0-9]+)\]|\(code ([A-Z0-9]+)\)", bodies)
    assert codes
    first.refresh_from_db()
    second.refresh_from_db()
    response = sms_reply(client, tele, ANA, f"1 {first.reply_code.lower()}")
    assert "Acknowledged" in response.content.decode()
    assert Alert.objects.get(pk=first.pk).status == "acknowledged"
    assert Alert.objects.get(pk=second.pk).status == "triggered"


def test_a_bundled_sms_needs_the_code(world_a, make_policy, tele, client, settings):
    from apps.alerts.services import alert_raise

    sms = person(world_a, world_a.staff, "sms", ANA)
    policy(world_a, [(0, [sms])], notify_on_acknowledge=False)
    alerts = [alert_raise(tenant=world_a.tenant, kind="breach", dedup_key=f"door-{n}", severity="critical",
                          summary=f"door {n} forced", source="rule", site=world_a.site).alert for n in (1, 2)]
    rows = list(Notification.objects.filter(alert__in=alerts).order_by("id"))
    from apps.notifications.delivery import deliver

    deliver(rows[0].pk)  # the second rides along in the same SMS
    (sent,) = tele.messages
    assert sent["body"].startswith("2 alerts:") and "e.g. 1 K7Q" in sent["body"]
    assert "several alerts" in sms_reply(client, tele, ANA, "1").content.decode()
    code = Alert.objects.get(pk=alerts[1].pk).reply_code
    assert f"[{code}]" in sent["body"]
    assert "Acknowledged" in sms_reply(client, tele, ANA, f"1 {code}").content.decode()
    assert [a.status for a in Alert.objects.filter(pk__in=[a.pk for a in alerts]).order_by("id")] == [
        "triggered", "acknowledged"]


def test_a_number_in_two_tenants_answers_the_latest_page(world_a, world_b, make_policy, raise_alert, tele, client):
    sms_a = person(world_a, world_a.staff, "sms", ANA)
    both = MembershipFactory(tenant=world_b.tenant, user=world_a.staff, role="staff").user
    sms_b = person(world_b, both, "sms", ANA)
    policy(world_a, [(0, [sms_a])], notify_on_acknowledge=False)
    policy(world_b, [(0, [sms_b])], notify_on_acknowledge=False)
    alert_a = raise_alert(world_a)
    send_pages(alert_a)
    alert_b = raise_alert(world_b)
    send_pages(alert_b)
    assert "Acknowledged" in sms_reply(client, tele, ANA, "1").content.decode()
    assert Alert.objects.get(pk=alert_b.pk).status == "acknowledged"
    assert Alert.objects.get(pk=alert_a.pk).status == "triggered"


def test_a_plain_channel_number_without_a_person_is_refused_politely(world_a, make_channel, make_policy,
                                                                       raise_alert, tele, client):
    policy(world_a, [(0, [make_channel(world_a, "sms", target=ANA)])])
    alert = raise_alert(world_a)
    send_pages(alert)
    assert "not linked to a person" in sms_reply(client, tele, ANA, "1").content.decode()
    assert Alert.objects.get(pk=alert.pk).status == "triggered"


def test_a_viewer_cannot_acknowledge_by_sms(world_a, make_policy, raise_alert, tele, client):
    policy(world_a, [(0, [person(world_a, world_a.viewer, "sms", ANA)])])
    alert = raise_alert(world_a)
    send_pages(alert)
    assert "can't act on this alert" in sms_reply(client, tele, ANA, "1").content.decode()
    assert Alert.objects.get(pk=alert.pk).status == "triggered"


def test_a_person_whose_sites_do_not_cover_the_alert_is_refused(world_a, make_policy, raise_alert, tele, client):
    from apps.tenancy.models import Membership

    policy(world_a, [(0, [person(world_a, world_a.staff, "sms", ANA)])])
    alert = raise_alert(world_a)
    send_pages(alert)
    # Paged while covering every site, then limited to none of the alert's: a person not
    # covering the alert's site is not paged for it at all (apps.oncall.people), and an
    # answer to an earlier page is refused.
    Membership.objects.filter(tenant=world_a.tenant, user=world_a.staff).update(all_sites=False)
    assert "can't act on this alert" in sms_reply(client, tele, ANA, "1").content.decode()


@pytest.mark.parametrize("params", [{}, {"MessageSid": "XX1", "From": ANA, "Body": "1"},
                                    {"MessageSid": "SM" + "a" * 80, "From": ANA}])
def test_malformed_inbound_requests_get_400(params, tele, client):
    from tests.support.answering import twilio_post

    assert twilio_post(client, tele, "/hooks/twilio/inbound/", params).status_code == 400


def test_only_post(client):
    assert client.get("/hooks/twilio/inbound/").status_code == 405
