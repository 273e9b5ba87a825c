"""Turns the lower apps' after-commit signals into live events.

The signals carry ids only; the row is read here, in the process that made the change
(web or worker), so the stream process never needs the database. A row that is gone by
now (deleted right after the change) has nothing left to show and is skipped.
"""

from __future__ import annotations

import functools
import logging

from django.dispatch import receiver

from apps.alerts.extension_points import alert_changed
from apps.alerts.models import Alert
from apps.devices.models import Device
from apps.ingest.signals import device_updated
from apps.notifications.models import Notification
from apps.notifications.signals import notification_updated
from apps.realtime import payloads
from apps.realtime.publish import publish

logger = logging.getLogger(__name__)


def _site_id(site) -> str | None:
    return site.public_id if site is not None else None


def _never_raises(handler):
    """These run in after-commit callbacks: the change is already committed, so a failure
    here (a database hiccup, a bug) is logged and must not turn the request into a 500."""

    @functools.wraps(handler)
    def guarded(sender, **kwargs):
        try:
            handler(sender, **kwargs)
        except Exception:
            logger.exception("live event not published", extra={"handler": handler.__name__})

    return guarded


@receiver(alert_changed, dispatch_uid="realtime.alert_changed")
@_never_raises
def publish_alert_change(sender, *, alert_id: int, tenant_id: int, change: str, actor_label: str = "",
                         alert=None, **kwargs) -> None:
    if alert is None:  # the sender had no instance in hand: read it
        alert = (Alert.objects.filter(pk=alert_id, tenant_id=tenant_id)
                 .select_related("tenant", "site", "device", "group").order_by().first())
    if alert is None:
        return
    publish(tenant=alert.tenant.public_id, event_type="alert.raised" if change == "raised" else "alert.updated",
            site=_site_id(alert.site),
            data={"change": change, "actor": actor_label, "alert": payloads.alert_payload(alert)})


@receiver(notification_updated, dispatch_uid="realtime.notification_updated")
@_never_raises
def publish_notification_update(sender, *, notification_id: int, tenant_id: int, notification=None,
                                **kwargs) -> None:
    if notification is None:  # the sender had no row in hand: read it
        notification = (Notification.objects.filter(pk=notification_id, tenant_id=tenant_id)
                        .select_related("tenant", "alert__site", "channel").order_by().first())
    if notification is None:
        return
    publish(tenant=notification.tenant.public_id, event_type="notification.updated",
            site=_site_id(notification.alert.site),
            data={"notification": payloads.notification_payload(notification)})


@receiver(device_updated, dispatch_uid="realtime.device_updated")
@_never_raises
def publish_device_update(sender, *, device_id: int, tenant_id: int, changes: list[str], **kwargs) -> None:
    device = (Device.objects.filter(pk=device_id, tenant_id=tenant_id).select_related("tenant", "site")
              .order_by().first())
    if device is None:
        return
    publish(tenant=device.tenant.public_id, event_type="device.updated", site=device.site.public_id,
            data={"changes": list(changes), "device": payloads.device_payload(device)})
