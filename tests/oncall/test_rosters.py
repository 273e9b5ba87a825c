"""Rosters: a weekly rotation in the site's wall-clock time across a daylight-saving change,
overrides on top, and escalation resolving the roster when each step runs."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from apps.notifications.escalation import escalation_tick
from apps.notifications.models import Notification
from apps.notifications.routing import bump_routing_version
from apps.oncall.models import Roster
from apps.oncall.rosters import override_create
from apps.oncall.rotation import RosterState
from tests.support.actors import ACTOR

pytestmark = pytest.mark.django_db
UTC = ZoneInfo("UTC")
LISBON = ZoneInfo("Europe/Lisbon")


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def on_call(roster, at):
    return RosterState.load(roster).on_call_at(at)


def test_weekly_handover_is_at_local_time_on_both_sides_of_the_october_change(world_a, make_person, make_roster):
    """Europe/Lisbon leaves summer time on Sunday 31 October 2027: the Monday 09:00 handover is
    08:00 UTC the week before and 09:00 UTC the week after."""
    ana, bruno = make_person(world_a, "ana"), make_person(world_a, "bruno")
    roster = make_roster(world_a, [ana, bruno])  # week from Monday 18 Oct 2027: ana, then bruno, then ana
    assert on_call(roster, utc(2027, 10, 25, 7, 59)) == ana.pk  # 08:59 summer time
    assert on_call(roster, utc(2027, 10, 25, 8, 0)) == bruno.pk  # 09:00 summer time
    assert on_call(roster, utc(2027, 11, 1, 8, 30)) == bruno.pk  # 08:30 winter time: not yet
    assert on_call(roster, utc(2027, 11, 1, 8, 59, 59)) == bruno.pk
    assert on_call(roster, utc(2027, 11, 1, 9, 0)) == ana.pk  # 09:00 winter time
    state = RosterState.load(roster)
    assert state.handover(2) == datetime(2027, 11, 1, 9, 0, tzinfo=LISBON)
    assert state.handover(2) - state.handover(1) == timedelta(days=7, hours=1)  # the week with the extra hour


def test_spring_change_keeps_the_handover_at_local_time(world_a, make_person, make_roster):
    from datetime import date

    ana, bruno = make_person(world_a, "ana"), make_person(world_a, "bruno")
    roster = make_roster(world_a, [ana, bruno], starts_on=date(2027, 3, 22))  # summer time from 28 March 2027
    assert on_call(roster, utc(2027, 3, 29, 7, 59)) == ana.pk  # 08:59 summer time
    assert on_call(roster, utc(2027, 3, 29, 8, 0)) == bruno.pk  # 09:00 summer time (09:00 UTC the week before)


def test_override_wins_over_the_rotation_and_the_last_made_wins_overlaps(world_a, make_person, make_roster):
    ana, bruno, carla = make_person(world_a, "ana"), make_person(world_a, "bruno"), make_person(world_a, "carla")
    roster = make_roster(world_a, [ana, bruno])
    friday_night = datetime(2027, 10, 29, 20, 0, tzinfo=LISBON)
    override_create(roster=roster, user=ana, starts_at=friday_night, ends_at=friday_night + timedelta(hours=12),
                    actor=ACTOR, reason="Ana covers Friday night")
    override_create(roster=roster, user=carla, starts_at=friday_night + timedelta(hours=2),
                    ends_at=friday_night + timedelta(hours=3), actor=ACTOR)
    assert on_call(roster, friday_night - timedelta(minutes=1)) == bruno.pk
    assert on_call(roster, friday_night) == ana.pk
    assert on_call(roster, friday_night + timedelta(hours=2, minutes=30)) == carla.pk
    assert on_call(roster, friday_night + timedelta(hours=3)) == ana.pk
    assert on_call(roster, friday_night + timedelta(hours=12)) == bruno.pk
    shifts = RosterState.load(roster).shifts(friday_night - timedelta(hours=1), friday_night + timedelta(hours=13))
    assert [(s.user_id, s.source) for s in shifts] == [
        (bruno.pk, "rotation"), (ana.pk, "override"), (carla.pk, "override"), (ana.pk, "override"),
        (bruno.pk, "rotation")]
    assert shifts[1].starts_at == friday_night and shifts[-1].starts_at == friday_night + timedelta(hours=12)


def _paged_people(alert, step):
    rows = Notification.objects.filter(alert=alert, step=step).select_related("channel__contact_method")
    return {(row.channel.contact_method.user.username, row.channel.kind) for row in rows
            if row.channel.contact_method_id}


def test_escalation_pages_whoever_is_on_call_when_the_step_runs(world_a, make_person, make_roster, make_channel,
                                                                make_policy, raise_alert):
    """The roster is resolved at each step's run, in frozen time on both sides of the
    handover after the change to winter time; an override made later wins."""
    ana, bruno = make_person(world_a, "ana"), make_person(world_a, "bruno")
    make_roster(world_a, [ana, bruno])
    policy = make_policy(world_a, [(0, [make_channel(world_a, "slack")]), (5, [make_channel(world_a, "email")])],
                         kinds=["breach"])
    step = policy.steps.get(order=1)
    step.site_roster = True
    step.save()
    bump_routing_version(world_a.tenant.pk)

    before = raise_alert(world_a, key="before")
    escalation_tick(now=utc(2027, 11, 1, 8, 30))  # 08:30 local: still bruno's week
    assert _paged_people(before, 1) == {("bruno", "sms"), ("bruno", "email")}
    after = raise_alert(world_a, key="after")
    escalation_tick(now=utc(2027, 11, 1, 9, 0))  # 09:00 local: ana's
    assert _paged_people(after, 1) == {("ana", "sms"), ("ana", "email")}
    rows = {row.channel.kind: row.due_at for row in Notification.objects.filter(alert=after, step=1)}
    assert rows["email"] - rows["sms"] == timedelta(minutes=5)  # SMS at once, email after 5 minutes

    override_create(roster=Roster.objects.get(), user=bruno, starts_at=utc(2027, 11, 1, 9, 30),
                    ends_at=utc(2027, 11, 1, 12), actor=ACTOR)
    overridden = raise_alert(world_a, key="overridden")
    escalation_tick(now=utc(2027, 11, 1, 10, 0))
    assert _paged_people(overridden, 1) == {("bruno", "sms"), ("bruno", "email")}


def test_shift_notice_is_sent_once_when_the_shift_starts(world_a, make_person, make_roster, mailoutbox):
    from apps.oncall.shift_notices import shift_notices_send

    ana, bruno = make_person(world_a, "ana"), make_person(world_a, "bruno")
    make_roster(world_a, [ana, bruno])
    handover = utc(2027, 11, 1, 9, 0)
    assert shift_notices_send(now=handover + timedelta(minutes=1)) == 1
    assert shift_notices_send(now=handover + timedelta(minutes=2)) == 0  # the next beat run: nothing again
    (mail,) = mailoutbox
    assert mail.to == ["ana@example.com"] and "Night desk" in mail.subject and "09:00" in mail.body
    assert shift_notices_send(now=handover + timedelta(hours=3)) == 0  # long started: not announced late
