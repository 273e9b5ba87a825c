"""Policies, steps, quiet hours, acknowledgement: what gets written to the outbox when."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from apps.alerts.models import Alert
from apps.alerts.services import alert_acknowledge
from apps.audit.services import Actor
from apps.notifications.escalation import escalation_tick
from apps.notifications.models import Notification, QuietHours
from apps.notifications.quiet_hours import quiet_until

pytestmark = pytest.mark.django_db


def test_raise_writes_first_step_and_snapshots_policy(world_a, make_channel, make_policy, raise_alert):
    sms, slack, email = make_channel(world_a, "sms"), make_channel(world_a, "slack"), make_channel(world_a, "email")
    make_policy(world_a, [(0, [sms, slack]), (5, [email])], kinds=["breach"])
    alert = raise_alert(world_a)
    alert.refresh_from_db()
    rows = Notification.objects.filter(alert=alert)
    assert {(n.channel_id, n.step, n.status) for n in rows} == {(sms.pk, 0, "pending"), (slack.pk, 0, "pending")}
    assert alert.policy_snapshot["steps"][1]["delay_minutes"] == 5
    assert alert.escalation_step == 1
    assert abs((alert.next_escalation_at - alert.created_at) - timedelta(minutes=5)) < timedelta(seconds=1)


def test_duplicates_do_not_page_again(world_a, make_channel, make_policy, raise_alert):
    make_policy(world_a, [(0, [make_channel(world_a)])])
    raise_alert(world_a)
    raise_alert(world_a)
    assert Notification.objects.count() == 1


def test_no_matching_policy_writes_nothing(world_a, make_channel, make_policy, raise_alert):
    make_policy(world_a, [(0, [make_channel(world_a)])], kinds=["battery"])
    alert = raise_alert(world_a)
    assert not Notification.objects.filter(alert=alert).exists()


def test_tick_writes_due_steps_and_acknowledgement_stops_them(world_a, make_channel, make_policy, raise_alert):
    sms, email = make_channel(world_a, "sms"), make_channel(world_a, "email")
    make_policy(world_a, [(0, [sms]), (5, [email])])
    acked = raise_alert(world_a, key="a")
    waiting = raise_alert(world_a, key="b")
    alert_acknowledge(alert=acked, actor=Actor.system("test"))
    assert escalation_tick(now=timezone.now() + timedelta(minutes=4)) == 0
    assert escalation_tick(now=timezone.now() + timedelta(minutes=6)) == 1
    assert Notification.objects.filter(alert=waiting, step=1, channel=email).exists()
    assert not Notification.objects.filter(alert=acked, step=1).exists()
    assert escalation_tick(now=timezone.now() + timedelta(minutes=7)) == 0
    assert waiting.events.filter(kind="escalated").count() == 1


def test_repeats_are_bounded(world_a, make_channel, make_policy, raise_alert):
    make_policy(world_a, [(0, [make_channel(world_a)])], repeat_times=2, repeat_after_minutes=10)
    alert = raise_alert(world_a)
    for minutes in (11, 21, 31, 41, 51):
        escalation_tick(now=timezone.now() + timedelta(minutes=minutes))
    assert sorted(Notification.objects.filter(alert=alert).values_list("step", flat=True)) == [0, 1, 2]
    alert.refresh_from_db()
    assert alert.next_escalation_at is None


def test_editing_a_policy_does_not_change_alerts_in_flight(world_a, make_channel, make_policy, raise_alert):
    sms, email = make_channel(world_a, "sms"), make_channel(world_a, "email")
    policy = make_policy(world_a, [(0, [sms]), (5, [email])])
    alert = raise_alert(world_a)
    from apps.notifications.policies import policy_save

    policy_save(tenant=world_a.tenant, actor=Actor.system("t"), name="changed", policy=policy,
                steps=[{"delay_minutes": 0, "channels": [sms]}])
    escalation_tick(now=timezone.now() + timedelta(minutes=6))
    assert Notification.objects.filter(alert=alert, channel=email).exists()


def test_quiet_hours_hold_non_critical_but_never_critical(world_a, make_channel, make_policy, raise_alert):
    channel = make_channel(world_a)
    make_policy(world_a, [(0, [channel])])
    QuietHours.objects.create(tenant=world_a.tenant, site=world_a.site, start=time(0, 0), end=time(23, 59))
    warning = raise_alert(world_a, key="w", kind="battery", severity="warning")
    critical = raise_alert(world_a, key="c")
    assert Notification.objects.get(alert=warning).due_at > timezone.now() + timedelta(minutes=1)
    assert Notification.objects.get(alert=critical).due_at <= timezone.now()


def test_the_raise_reads_quiet_hours_of_its_own_site_only_and_only_when_enabled(world_a, make_channel, make_policy,
                                                                              raise_alert):
    """Quiet hours come with the routing version in one statement (routing.route_context);
    they must be exactly what `quiet_hours_for_site` reads."""
    from apps.notifications.quiet_hours import quiet_hours_for_site
    from apps.notifications.routing import route_context
    from tests.factories import SiteFactory

    make_policy(world_a, [(0, [make_channel(world_a)])])
    elsewhere = SiteFactory(tenant=world_a.tenant)
    QuietHours.objects.create(tenant=world_a.tenant, site=elsewhere, start=time(0, 0), end=time(23, 59))
    hours = QuietHours.objects.create(tenant=world_a.tenant, site=world_a.site, start=time(0, 0), end=time(23, 59),
                                      enabled=False)
    warning = raise_alert(world_a, key="off", kind="battery", severity="warning")
    assert Notification.objects.get(alert=warning).due_at <= timezone.now()  # disabled: pages now
    assert route_context(warning, timezone.now()).quiet_hours is None is quiet_hours_for_site(world_a.site.pk)

    QuietHours.objects.filter(pk=hours.pk).update(enabled=True)
    held = raise_alert(world_a, key="on", kind="battery", severity="warning")
    assert Notification.objects.get(alert=held).due_at > timezone.now() + timedelta(minutes=1)
    read = route_context(held, timezone.now()).quiet_hours
    assert (read.pk, read.start, read.end) == (hours.pk, time(0, 0), time(23, 59))
    assert read.pk == quiet_hours_for_site(world_a.site.pk).pk


@pytest.mark.parametrize("local_now, start, end, expected_local_end", [
    ("2026-11-21 23:30", time(22), time(7), "2026-11-22 07:00"),
    ("2026-11-22 03:00", time(22), time(7), "2026-11-22 07:00"),
    ("2026-11-22 12:00", time(22), time(7), None),
    ("2026-11-22 02:00", time(1), time(6), "2026-11-22 06:00"),
    ("2026-03-29 00:30", time(0), time(3), "2026-03-29 03:00"),  # Lisbon springs forward at 01:00
])
def test_quiet_until_in_local_time(local_now, start, end, expected_local_end):
    zone = ZoneInfo("Europe/Lisbon")
    now = datetime.fromisoformat(local_now).replace(tzinfo=zone).astimezone(ZoneInfo("UTC"))
    hours = QuietHours(start=start, end=end)
    result = quiet_until(hours, "Europe/Lisbon", now)
    if expected_local_end is None:
        assert result is None
    else:
        assert result.astimezone(zone).strftime("%Y-%m-%d %H:%M") == expected_local_end


def test_alert_policy_snapshot_is_on_the_row(world_a, make_channel, make_policy, raise_alert):
    make_policy(world_a, [(0, [make_channel(world_a)])], name="Room breach")
    alert = raise_alert(world_a)
    assert Alert.objects.get(pk=alert.pk).policy_snapshot["name"] == "Room breach"
