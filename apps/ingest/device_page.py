"""The device page: a device's last day or week of health and output, as SVG charts.

Invariant: the page shows a device only to members of its tenant whose scope covers its
site (anyone else gets the 404 a missing device gets), reads through the history selectors and writes nothing.
Reached from the live board (each device tile links here) and from the admin.
"""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render
from django.urls import reverse, reverse_lazy
from django.utils import timezone
from django.views.decorators.http import require_GET

from apps.common.errors import NotFoundError
from apps.devices.models import Device, DeviceKind
from apps.ingest import charts, history
from apps.tenancy.context import resolve_tenant_context
from apps.tenancy.models import SiteKind

PERIODS = {"day": (timedelta(days=1), "15m"), "week": (timedelta(weeks=1), "2h")}
HEALTH_CHARTS = (("battery_level", "Battery"), ("rssi", "Wi-Fi signal (RSSI)"), ("temperature_c", "Temperature"))


def _device_for(request, public_id: str) -> Device:
    device = Device.objects.select_related("site", "tenant").filter(public_id=public_id[:40]).first()
    if device is None:
        raise Http404("No such device.")
    try:
        context = resolve_tenant_context(user=request.user, requested=device.tenant.public_id)
    except NotFoundError as exc:
        raise Http404("No such device.") from exc
    if not context.scope.filter(Device.objects.filter(pk=device.pk)).exists():
        raise Http404("No such device.")  # another site's device, for a site-scoped member
    return device


def _chart(title: str, series, window: history.Window, tz) -> dict:
    return {"title": title, "svg": charts.line_chart(title=title, series=series, since=window.since,
                                                       until=window.until, tz=tz),
            "legend": charts.legend(series) if len(series) > 1 else []}


@require_GET
@login_required(login_url=reverse_lazy("admin:login"))
def device_page(request, public_id: str):
    device = _device_for(request, public_id)
    period = request.GET.get("period", "day")
    span, bucket = PERIODS.get(period, PERIODS["day"])
    now = timezone.now()
    window = history.Window(since=now - span, until=now, bucket=bucket)
    tz = device.site.zoneinfo
    health = history.health_history(device=device, window=window, fields=[name for name, _ in HEALTH_CHARTS])
    is_plant = device.kind == DeviceKind.GATEWAY or device.site.kind == SiteKind.PLANT
    # A gateway often sends no heartbeats of its own: its empty health charts would only be noise.
    panels = [_chart(title, [entry], window, tz) for (_, title), entry in zip(HEALTH_CHARTS, health, strict=True)
              if entry.points or not is_plant]
    if is_plant:
        power, _ = history.telemetry_history(device=device, window=window, metric="power_ac")
        panels.insert(0, _chart("AC power per inverter", power, window, tz))
    return render(request, "ingest/device_page.html", {
        "device": device, "panels": panels, "period": period if period in PERIODS else "day",
        "periods": list(PERIODS), "board_url": f"{reverse('board')}?tenant={device.tenant.public_id}",
        "admin_url": reverse("admin:devices_device_change", args=[device.pk]) if request.user.is_staff else "",
    })
