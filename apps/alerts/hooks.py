"""Where higher apps plug into the alert engine, without this app importing them.

- `alert_raised_in_transaction(alert)`: called inside the raising transaction, so the
  notification engine can write the alert's first outbox rows atomically with it.
- `alert_changed` (a Django signal) is sent after commit for every change, so real-time
  publishing and task enqueueing never see a row that may still roll back.
"""

from __future__ import annotations

from collections.abc import Callable

from django.db import transaction
from django.dispatch import Signal

# kwargs: alert_id (int), tenant_id (int), change (str: raised, duplicate, acknowledged,
# resolved, reopened, note), actor_label (str)
alert_changed = Signal()

RaiseHook = Callable[["Alert"], None]  # noqa: F821
_raise_hooks: list[RaiseHook] = []


def register_raise_hook(hook: RaiseHook) -> None:
    if hook not in _raise_hooks:
        _raise_hooks.append(hook)


def run_raise_hooks(alert) -> None:
    for hook in _raise_hooks:
        hook(alert)


def announce_change(*, alert, change: str, actor_label: str = "") -> None:
    alert_id, tenant_id = alert.pk, alert.tenant_id
    transaction.on_commit(lambda: alert_changed.send(
        sender=alert.__class__, alert_id=alert_id, tenant_id=tenant_id, change=change, actor_label=actor_label))
