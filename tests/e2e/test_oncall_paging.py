"""People, rosters, maintenance and snooze through a real worker and the real SDKs against
the stand-ins, with the production settings: the on-call person's phone gets the SMS, a
storm inside a maintenance window pages nobody until the window ends, a snoozed alert pages
again when the snooze is over."""

from __future__ import annotations

import time
from datetime import date, timedelta

import pytest
from django.db.models import F
from django.utils import timezone

from apps.alerts.models import Alert
from apps.alerts.services import alert_acknowledge
from apps.alerts.snoozing import alert_snooze
from apps.audit.services import Actor
from apps.ingest.services.sweeps import offline_sweep
from apps.notifications.escalation import escalation_tick
from apps.notifications.models import Notification
from apps.notifications.policies import policy_save
from apps.oncall.contacts import contact_method_create, notification_rule_create
from apps.oncall.maintenance import maintenance_create, maintenance_end
from apps.oncall.rosters import roster_save
from tests.factories import DeviceFactory, MembershipFactory, UserFactory
from tests.support.flows import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
ACTOR = Actor.system("test")


def _person(world, name, number):
    user = UserFactory(username=name)
    MembershipFactory(tenant=world.tenant, user=user)
    sms = contact_method_create(tenant=world.tenant, user=user, kind="sms", address=number, actor=ACTOR)
    notification_rule_create(method=sms, delay_minutes=0, actor=ACTOR)
    email = contact_method_create(tenant=world.tenant, user=user, kind="email", address=f"{name}@example.com",
                                  actor=ACTOR)
    notification_rule_create(method=email, delay_minutes=5, actor=ACTOR)
    return user


def test_the_on_call_person_s_phone_is_paged_and_an_acknowledgement_stops_their_email(
        world_a, raise_alert, real_providers, celery_worker_process, twilio_standin, smtp_standin):
    ana = _person(world_a, "ana", "+351912345601")
    _person(world_a, "bruno", "+351912345602")
    roster_save(tenant=world_a.tenant, actor=ACTOR, name="Nights", members=[ana], handover_time=timezone.now().time(),
                starts_on=date.today() - timedelta(days=30), sites=[world_a.site])
    policy_save(tenant=world_a.tenant, actor=ACTOR, name="on call", priority=1,
                steps=[{"delay_minutes": 0, "channels": [], "site_roster": True}])
    celery_worker_process(env_overrides=real_providers)

    alert = raise_alert(world_a)
    (sms,) = twilio_standin.wait_for(1)
    assert sms["to"] == "+351912345601"
    email_row = Notification.objects.get(alert=alert, channel__kind="email")
    assert email_row.channel.contact_method.user == ana and email_row.status == "pending"
    assert email_row.due_at - alert.created_at >= timedelta(minutes=5)  # the person's rule: email after 5 min
    alert_acknowledge(alert=alert, actor=ACTOR)
    email_row.refresh_from_db()
    assert email_row.status == "cancelled" and smtp_standin.messages == []


def test_offline_storm_in_a_maintenance_window_pages_when_the_window_ends(
        world_a, make_channel, make_policy, webhook_receiver, celery_worker_process):
    hook = make_channel(world_a, "webhook", target=webhook_receiver.url("/hook"), secret=webhook_receiver.secret)
    make_policy(world_a, [(0, [hook])])
    now = timezone.now()
    window = maintenance_create(site=world_a.site, starts_at=now - timedelta(minutes=5),
                                ends_at=now + timedelta(hours=2), reason="Wi-Fi upgrade", actor=ACTOR)
    for index in range(12):
        DeviceFactory(site=world_a.site, last_seen_at=now - timedelta(minutes=10, seconds=index))
    celery_worker_process()

    flagged = offline_sweep()
    for _ in range(5):
        if flagged == 12:
            break
        time.sleep(0.5)
        flagged += offline_sweep()
    assert flagged == 12
    group = wait_until(lambda: Alert.objects.filter(is_group=True).first(), what="the outage alert")
    escalation_tick()
    time.sleep(3)  # the outage hold and a worker's round trip, had anything been sent
    assert webhook_receiver.messages == []
    assert Alert.objects.get(pk=group.pk).in_maintenance()

    maintenance_end(window=window, actor=ACTOR)
    escalation_tick()  # beat's next round after the end
    (page,) = webhook_receiver.wait_for(1, timeout=20)
    assert page["json"]["alert_id"] == group.public_id
    assert Alert.objects.get(pk=group.pk).events.filter(kind="resumed").exists()


def test_snoozed_alert_pages_again_when_the_snooze_is_over(
        world_a, make_channel, make_policy, raise_alert, webhook_receiver, celery_worker_process):
    hook = make_channel(world_a, "webhook", target=webhook_receiver.url("/hook"), secret=webhook_receiver.secret)
    make_policy(world_a, [(0, [hook])])
    celery_worker_process()
    alert = raise_alert(world_a)
    webhook_receiver.wait_for(1)
    until = timezone.now() + timedelta(minutes=30)
    alert_snooze(alert=alert, actor=ACTOR, until=until, via="sms")
    assert Alert.objects.get(pk=alert.pk).next_escalation_at == until  # the tick looks again at its end
    escalation_tick()
    time.sleep(1)
    assert len(webhook_receiver.messages) == 1
    shift = until - timezone.now()  # as if the thirty minutes had passed
    Alert.objects.filter(pk=alert.pk).update(snoozed_until=F("snoozed_until") - shift,
                                             next_escalation_at=F("next_escalation_at") - shift)
    escalation_tick()
    pages = webhook_receiver.wait_for(2, timeout=20)
    assert [page["json"]["alert_id"] for page in pages] == [alert.public_id] * 2
