"""One outage, one page: many alerts of one kind at one site in a short window open one
group alert that stands for them.

Invariants: at most one open group per (tenant, kind, site) (it is an ordinary alert
with its own dedup key, so the partial unique index decides); the decision to open one
is taken under a per-site, per-kind transaction lock, so concurrent raises count each
other and exactly one of them opens the group. Members stay visible and keep their own
lifecycle; they are paged through their group while it is open (a member whose severity
rises is paged on its own again), and acknowledging or resolving the group does the same
to its members.

Pages of alerts that could still join an outage are held for `TOCSIN_OUTAGE_HOLD_SECONDS`
(the notification engine reads `may_join_outage`), so the first few devices of a power
cut don't page one by one before the group opens.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.db.models import QuerySet
from django.utils import timezone

from apps.alerts.extension_points import Change, announce_change, run_lifecycle_handlers
from apps.alerts.models import (
    OPEN_STATUSES,
    SEVERITY_RANK,
    Alert,
    AlertEvent,
    AlertEventKind,
    AlertKind,
    AlertSource,
)

_SUMMARIES = {
    AlertKind.OFFLINE: "{count} devices offline at {site}: likely a network or power outage",
}


def may_join_outage(alert: Alert) -> bool:
    """Whether this alert could still be grouped (so its first page is held briefly)."""
    return (not alert.is_group and alert.group_id is None and alert.site_id is not None
            and alert.kind in settings.TOCSIN_OUTAGE_KINDS and alert.site.outage_threshold > 0)


def outage_key(kind: str, site) -> str:
    return f"outage:{kind}:{site.public_id}"


def open_members(group: Alert) -> QuerySet[Alert]:
    return Alert.objects.filter(group=group, status__in=OPEN_STATUSES).select_related("tenant", "site")


def member_note(group: Alert) -> str:
    return f"With the outage alert {group.public_id}."


def _summary(kind: str, site, count: int) -> str:
    template = _SUMMARIES.get(kind, "{count} '{label}' alerts at {site} within minutes: likely one cause")
    return template.format(count=count, site=site.name, label=AlertKind(kind).label)


def _lock_site_kind(site, kind: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s), %s)", [f"outage:{kind}", site.pk])


def join_outage(alert: Alert) -> None:
    """Called inside the transaction that raised `alert` (a new alert), before its handlers run."""
    if not may_join_outage(alert):
        return
    site = alert.site
    _lock_site_kind(site, alert.kind)
    group = (Alert.objects.filter(tenant_id=alert.tenant_id, dedup_key=outage_key(alert.kind, site),
                                  status__in=OPEN_STATUSES).order_by().first())
    if group is not None:
        _link(group, [alert], raising=alert)
        return
    since = timezone.now() - timedelta(seconds=site.outage_window_seconds)
    candidates = list(Alert.objects.filter(tenant_id=alert.tenant_id, site=site, kind=alert.kind, is_group=False,
                                           group__isnull=True, status__in=OPEN_STATUSES, created_at__gte=since)
                      .select_related("tenant", "site"))
    if len(candidates) < site.outage_threshold:
        return
    group = _open_group(alert, candidates)
    _link(group, candidates, raising=alert)


def _open_group(alert: Alert, members: list[Alert]) -> Alert:
    from apps.alerts.services import alert_raise  # the engine's one way to raise; it calls this module

    severity = max((member.severity for member in members), key=lambda value: SEVERITY_RANK[value])
    return alert_raise(
        tenant=alert.tenant, kind=alert.kind, dedup_key=outage_key(alert.kind, alert.site), severity=severity,
        summary=_summary(alert.kind, alert.site, len(members)), source=AlertSource.SYSTEM, site=alert.site,
        details={"outage": True, "members": len(members)}, is_group=True,
    ).alert


def _link(group: Alert, members: list[Alert], *, raising: Alert) -> None:
    """Members stop paging on their own: their group pages for them. `raising` is the alert
    being raised now: it is routed after this, already knowing its group."""
    now = timezone.now()
    Alert.objects.filter(pk__in=[member.pk for member in members]).update(group=group)
    raising.group = group
    for member in members:
        member.group = group
        AlertEvent.objects.create(tenant_id=member.tenant_id, alert=member, kind=AlertEventKind.GROUPED, at=now,
                                  actor_type="system", actor_label="outage",
                                  data={"group": group.public_id})
        if member.pk != raising.pk:
            run_lifecycle_handlers(member, Change.GROUPED)
        announce_change(alert=member, change="grouped", actor_label="outage")
    count = Alert.objects.filter(group=group).count()
    group.summary = _summary(group.kind, group.site, count)
    group.details = {**group.details, "members": count}
    group.updated_at = now
    Alert.objects.filter(pk=group.pk).update(summary=group.summary, details=group.details, updated_at=now)
    announce_change(alert=group, change="duplicate", actor_label="outage")
