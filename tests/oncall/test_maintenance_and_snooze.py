"""Maintenance windows and snooze hold paging, never recording, and page when they end."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.alerts.models import Alert
from apps.alerts.services import alert_acknowledge
from apps.alerts.snoozing import alert_snooze
from apps.common.errors import ApplicationError, ConflictError
from apps.ingest.services.sweeps import offline_sweep
from apps.notifications.escalation import escalation_tick
from apps.notifications.models import Notification, NotificationStatus
from apps.oncall.maintenance import maintenance_create, maintenance_end
from tests.factories import DeviceFactory
from tests.support.actors import ACTOR

pytestmark = pytest.mark.django_db


def _window(world, minutes=60, **kwargs):
    now = timezone.now()
    return maintenance_create(site=world.site, starts_at=now - timedelta(minutes=1),
                              ends_at=now + timedelta(minutes=minutes), reason="Wi-Fi upgrade", actor=ACTOR, **kwargs)


def _pages(alert=None):
    rows = Notification.objects.filter(purpose="page").exclude(status=NotificationStatus.CANCELLED)
    return rows.filter(alert=alert) if alert is not None else rows


def test_offline_storm_inside_a_window_pages_nobody_and_pages_what_is_open_at_its_end(
        world_a, make_channel, make_policy):
    make_policy(world_a, [(0, [make_channel(world_a, "sms")])])
    window = _window(world_a)
    long_ago = timezone.now() - timedelta(hours=2)
    for _ in range(8):
        DeviceFactory(site=world_a.site, last_seen_at=long_ago)
    assert offline_sweep() == 8
    alerts = Alert.objects.filter(tenant=world_a.tenant)
    assert alerts.filter(kind="offline").count() >= 8  # recorded, with their outage group
    assert not _pages().exists()
    group = alerts.get(is_group=True)
    assert group.in_maintenance() and group.maintenance_until == window.ends_at
    assert group.events.filter(kind="maintenance").exists()
    assert not group.unnotified_reason  # held, not lost

    assert escalation_tick(now=timezone.now() + timedelta(minutes=30)) >= 0
    assert not _pages().exists()  # still inside the window
    escalation_tick(now=window.ends_at + timedelta(seconds=1))
    group.refresh_from_db()
    assert _pages(group).count() == 1 and not group.in_maintenance()
    assert group.events.filter(kind="resumed").exists()
    assert not _pages().exclude(alert=group).exists()  # members are paged through their outage


def test_window_only_for_some_kinds_and_devices(world_a, make_channel, make_policy, raise_alert):
    make_policy(world_a, [(0, [make_channel(world_a, "sms")])])
    device = DeviceFactory(site=world_a.site)
    _window(world_a, kinds=["offline"], devices=[device])
    breach = raise_alert(world_a)  # another kind: pages
    assert _pages(breach).count() == 1 and not breach.in_maintenance()


def test_a_new_alert_is_held_by_the_windows_that_cover_its_device_and_kind(world_a, make_channel, make_policy):
    """What the raise reads in one statement with the routing version (routing.route_context)
    holds exactly the alerts `maintenance_until` says are covered."""
    from apps.alerts.services import alert_raise
    from apps.oncall.maintenance import maintenance_until

    make_policy(world_a, [(0, [make_channel(world_a, "sms")])])
    covered, other = DeviceFactory(site=world_a.site), DeviceFactory(site=world_a.site)
    _window(world_a, minutes=30, kinds=["offline"], devices=[covered])
    _window(world_a, minutes=90, kinds=["battery"])  # every device of the site

    def raised(kind, device=None, site=world_a.site):
        return alert_raise(tenant=world_a.tenant, kind=kind, dedup_key=f"{kind}-{device and device.pk}-{site}",
                           severity="critical", summary=kind, source="rule", site=site, device=device).alert

    cases = [("offline", covered, True), ("offline", other, False), ("offline", None, False),
             ("battery", covered, True), ("battery", None, True), ("breach", covered, False)]
    for kind, device, held in cases:
        alert = raised(kind, device)
        assert alert.in_maintenance() is held, (kind, device)
        assert (_pages(alert).count() == 0) is held, (kind, device)
        assert alert.maintenance_until == maintenance_until(
            tenant_id=world_a.tenant.pk, site_id=world_a.site.pk, device_id=device and device.pk, kind=kind,
            at=timezone.now())
    assert not raised("battery", site=None).in_maintenance()  # no site, no window


def test_ending_a_window_early_pages_at_the_next_tick(world_a, make_channel, make_policy, raise_alert):
    make_policy(world_a, [(0, [make_channel(world_a, "sms")])])
    window = _window(world_a, minutes=120)
    alert = raise_alert(world_a)
    assert not _pages(alert).exists()
    maintenance_end(window=window, actor=ACTOR)
    escalation_tick(now=timezone.now() + timedelta(seconds=1))
    assert _pages(alert).count() == 1


def test_acknowledged_alerts_do_not_page_at_the_end_of_the_window(world_a, make_channel, make_policy, raise_alert):
    make_policy(world_a, [(0, [make_channel(world_a, "sms")])])
    window = _window(world_a)
    alert = raise_alert(world_a)
    alert_acknowledge(alert=alert, actor=ACTOR)
    escalation_tick(now=window.ends_at + timedelta(seconds=1))
    assert not _pages(alert).exists()


def test_a_window_starting_mid_escalation_holds_the_next_steps(world_a, make_channel, make_policy, raise_alert):
    sms, email = make_channel(world_a, "sms"), make_channel(world_a, "email")
    make_policy(world_a, [(0, [sms]), (5, [email])])
    alert = raise_alert(world_a)
    window = _window(world_a, minutes=60)
    escalation_tick(now=timezone.now() + timedelta(minutes=6))
    assert not _pages(alert).filter(channel=email).exists()
    escalation_tick(now=window.ends_at + timedelta(seconds=1))
    alert.refresh_from_db()
    assert alert.paging_cycle == 1 and _pages(alert).filter(cycle=1, channel=sms).exists()


def test_snoozed_alert_pages_again_when_the_snooze_ends(world_a, make_channel, make_policy, raise_alert):
    sms, email = make_channel(world_a, "sms"), make_channel(world_a, "email")
    make_policy(world_a, [(0, [sms]), (5, [email])])
    alert = raise_alert(world_a)
    until = timezone.now() + timedelta(minutes=30)
    alert_snooze(alert=alert, actor=ACTOR, until=until, via="sms")
    alert.refresh_from_db()
    assert alert.is_snoozed() and alert.next_escalation_at == until
    assert alert.events.filter(kind="snoozed", data__via="sms").exists()
    escalation_tick(now=timezone.now() + timedelta(minutes=10))
    assert not _pages(alert).filter(channel=email).exists()  # the step after 5 minutes waits too
    escalation_tick(now=until + timedelta(seconds=1))
    alert.refresh_from_db()
    assert not alert.is_snoozed() and alert.paging_cycle == 1
    assert _pages(alert).filter(cycle=1, step=0, channel=sms).exists()


def test_snooze_is_bounded_and_only_for_triggered_alerts(world_a, make_channel, make_policy, raise_alert):
    make_policy(world_a, [(0, [make_channel(world_a, "sms")])])
    alert = raise_alert(world_a)
    with pytest.raises(ApplicationError):
        alert_snooze(alert=alert, actor=ACTOR, until=timezone.now() - timedelta(minutes=1))
    with pytest.raises(ApplicationError):
        alert_snooze(alert=alert, actor=ACTOR, until=timezone.now() + timedelta(days=8))
    alert_acknowledge(alert=alert, actor=ACTOR)
    with pytest.raises(ConflictError):
        alert_snooze(alert=alert, actor=ACTOR, until=timezone.now() + timedelta(minutes=30))


def test_a_step_that_resolves_to_nobody_pages_the_managers_and_says_so(world_a, make_roster, make_policy,
                                                                      raise_alert):
    from apps.notifications.policies import policy_save

    roster = make_roster(world_a, [])
    policy_save(tenant=world_a.tenant, actor=ACTOR, name="roster only",
                steps=[{"delay_minutes": 0, "channels": [], "rosters": [roster]}], priority=1)
    alert = raise_alert(world_a)
    alert.refresh_from_db()
    assert "named nobody" in alert.unnotified_reason
    (row,) = _pages(alert)
    assert row.channel.kind == "managers"
    assert alert.events.filter(kind="unnotified").exists()
