"""Acting on many alerts at once (bulk acknowledge and resolve): every id on its own.

One alert's refusal (not found in the caller's scope, already resolved) neither stops
nor undoes the others: each id gets its own outcome, in the order asked, and each change
is the lifecycle service's own transaction, so what succeeded stays done. The caller
learns which did not, and why, from the outcomes rather than from one error for all.
"""

from __future__ import annotations

from django.db.models import QuerySet

from apps.alerts.models import Alert
from apps.alerts.services import alert_acknowledge, alert_resolve
from apps.audit.services import Actor
from apps.common.errors import ConflictError

BULK_CHANGES = {"acknowledge": alert_acknowledge, "resolve": alert_resolve}


def alert_bulk_apply(*, alerts: QuerySet[Alert], ids: list[str], change: str, actor: Actor, note: str = "",
                     user=None) -> list[dict]:
    """`change` (a key of BULK_CHANGES) on each id: `{"id", "ok": True, "status"}` or
    `{"id", "ok": False, "error": code}`. `alerts` is the caller's scoped queryset, so an id
    outside it is `not_found`, exactly like one that does not exist."""
    apply = BULK_CHANGES[change]
    found = {alert.public_id: alert for alert in alerts.filter(public_id__in=ids)}
    results = []
    for public_id in ids:
        alert = found.get(public_id)
        if alert is None:
            results.append({"id": public_id, "ok": False, "error": "not_found"})
            continue
        try:
            alert = apply(alert=alert, actor=actor, note=note, user=user)
        except ConflictError as exc:
            results.append({"id": public_id, "ok": False, "error": exc.code})
        else:
            results.append({"id": public_id, "ok": True, "status": alert.status})
    return results
