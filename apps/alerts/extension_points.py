"""Where higher apps plug into the alert engine, without this app importing them.

- Lifecycle handlers run inside the transaction of every change that matters to paging
  (raised, acknowledged, resolved, reopened, severity raised, grouped into an outage,
  snoozed), with
  the alert row locked or just written. What they write (outbox rows, notices) commits
  with the change or not at all, so a crash right after an acknowledgement can never lose
  its notice, and a failure there fails the change instead of half-applying it.
- `alert_changed` (a Django signal) is sent after commit for every change, for the live
  board only. It is sent robustly: a failing receiver is logged and can never turn a
  committed change into an error.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.db import transaction
from django.dispatch import Signal

logger = logging.getLogger(__name__)

# kwargs: alert_id (int), tenant_id (int), change (str: raised, duplicate, acknowledged,
# resolved, reopened, severity, grouped, note), actor_label (str), alert (the instance)
alert_changed = Signal()


class Change:
    """What happened to an alert, as lifecycle handlers hear it."""

    RAISED = "raised"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"
    REOPENED = "reopened"
    SEVERITY_RAISED = "severity"
    GROUPED = "grouped"
    SNOOZED = "snoozed"


LifecycleHandler = Callable[["Alert", str], None]  # noqa: F821
_lifecycle_handlers: list[LifecycleHandler] = []


def register_lifecycle_handler(handler: LifecycleHandler) -> None:
    if handler not in _lifecycle_handlers:
        _lifecycle_handlers.append(handler)


def run_lifecycle_handlers(alert, change: str) -> None:
    """Call inside the transaction that makes the change."""
    for handler in _lifecycle_handlers:
        handler(alert, change)


def _send_alert_changed(**kwargs) -> None:
    for receiver, result in alert_changed.send_robust(**kwargs):
        if isinstance(result, Exception):
            logger.error("alert_changed receiver failed", exc_info=result,
                         extra={"receiver": getattr(receiver, "__qualname__", str(receiver)),
                                "change": kwargs.get("change")})


def announce_change(*, alert, change: str, actor_label: str = "") -> None:
    """After commit. The alert as this change left it rides along (`alert`), so a receiver
    needs no re-read; it is the instance the change wrote, not a later state."""
    alert_id, tenant_id = alert.pk, alert.tenant_id
    transaction.on_commit(lambda: _send_alert_changed(
        sender=alert.__class__, alert_id=alert_id, tenant_id=tenant_id, change=change, actor_label=actor_label,
        alert=alert))
