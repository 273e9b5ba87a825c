"""The offline sweep: a device silent for N × its site's heartbeat interval gets one
"device offline" alert; its next report resolves it (`liveness.device_restore_if_offline`).

Run by beat. Rows are locked with SKIP LOCKED, so two sweeps never flag one device twice
and a device mid-heartbeat is left for the next sweep.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from apps.alerts.models import AlertKind, AlertSource, Severity
from apps.alerts.services import alert_raise
from apps.devices.models import Device
from apps.ingest import rules as rule_engine
from apps.ingest.services.liveness import device_announce
from apps.ingest.site_rules import rules_for_site
from apps.tenancy.models import Site


def offline_sweep(*, now: datetime | None = None) -> int:
    """Raise 'device offline' for active devices silent for N × their site's interval."""
    now = now or timezone.now()
    flagged = 0
    site_ids = Device.objects.filter(status="active").values_list("site_id", flat=True).distinct()
    for site in Site.objects.filter(pk__in=list(site_ids)):
        rules = rules_for_site(site).rules
        cutoff = now - timedelta(seconds=rules.heartbeat_interval_seconds * rules.offline_after_missed)
        candidates = (Device.objects.filter(site=site, status="active", last_seen_at__lt=cutoff)
                      .exclude(rule_state__contains={"rules": {"offline": True}}).values_list("pk", flat=True))
        for device_id in list(candidates):
            flagged += _flag_offline(device_id, cutoff)
    return flagged


def _flag_offline(device_id: int, cutoff: datetime) -> int:
    with transaction.atomic():
        device = (Device.objects.select_for_update(skip_locked=True).select_related("tenant", "site")
                  .filter(pk=device_id, last_seen_at__lt=cutoff).order_by().first())
        if device is None:
            return 0
        state = dict(device.rule_state.get("rules", {}))
        if state.get("offline"):
            return 0
        state["offline"] = True
        device.rule_state = {**device.rule_state, "rules": state}
        device.save(update_fields=["rule_state"])
        silent_for = int((timezone.now() - device.last_seen_at).total_seconds())
        alert_raise(tenant=device.tenant, kind=AlertKind.OFFLINE, dedup_key=rule_engine.key("offline", device),
                    severity=Severity.HIGH, summary=f"{device} is offline (silent for {silent_for // 60} min)",
                    source=AlertSource.RULE, site=device.site, device=device,
                    details={"last_seen_at": device.last_seen_at.isoformat()})
        device_announce(device, ["offline"])
    return 1
