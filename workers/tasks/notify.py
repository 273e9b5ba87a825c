"""Delivery, escalation and outbox tasks: thin wrappers over apps.notifications."""

from __future__ import annotations

from django.conf import settings

from apps.notifications import delivery, escalation, outbox
from workers.base import tocsin_task

_DELIVERY_OPTIONS = {
    # The outbox row is the retry clock: delivery republishes a retry for the row's due_at
    # itself, so Celery's autoretry and backoff are off for these tasks.
    "retry_on": (),
    "max_retries": 0,
    "time_limit": int(settings.TOCSIN_NOTIFY_PROVIDER_TIMEOUT * 3) + 10,
}


def _deliver(notification_id: int) -> str:
    return delivery.deliver(notification_id).status


@tocsin_task(name="tocsin.notify.deliver", **_DELIVERY_OPTIONS)
def deliver(self, notification_id: int) -> str:
    return _deliver(notification_id)


@tocsin_task(name="tocsin.notify.deliver_critical", **_DELIVERY_OPTIONS)
def deliver_critical(self, notification_id: int) -> str:
    """The same delivery, on the critical queue so a breach never waits behind battery notices."""
    return _deliver(notification_id)


@tocsin_task(name="tocsin.notify.escalation_tick", max_retries=0)
def escalation_tick(self) -> int:
    return escalation.escalation_tick()


@tocsin_task(name="tocsin.notify.sweep_outbox", max_retries=0)
def sweep_outbox(self) -> int:
    return outbox.sweep_outbox()


@tocsin_task(name="tocsin.oncall.shift_notices", max_retries=0)
def shift_notices(self) -> int:
    """Tell people their on-call shift has started (idempotent: one notice per shift)."""
    from apps.oncall.shift_notices import shift_notices_send

    return shift_notices_send()
