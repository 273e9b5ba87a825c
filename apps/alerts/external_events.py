"""Events from integrations, PagerDuty-shaped (`POST /api/v1/events/`): trigger,
acknowledge or resolve an alert by the integration's dedup key.

An integration's keys live in their own namespace (`ext:<key>`), so a monitor can never
bump or resolve an alert that a rule or a device raised. A trigger without a key gets a
fresh one: it is an alert of its own, and the answer tells the key. Acknowledge and
resolve act on the open alert with the key; with none open, nothing is created.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from apps.alerts import selectors, services
from apps.alerts.event_input import PAGERDUTY_SEVERITIES
from apps.alerts.models import Alert, AlertKind, AlertSource
from apps.audit.services import Actor
from apps.common.errors import NotFoundError
from apps.tenancy.models import Site, Tenant
from apps.tenancy.selectors import site_get_by_reference

EXTERNAL_KEY_PREFIX = "ext:"


@dataclass(frozen=True)
class EventOutcome:
    dedup_key: str  # as the integration knows it (without the prefix)
    alert: Alert


def external_event_process(*, tenant: Tenant, actor: Actor, event: dict) -> EventOutcome:
    """`event` as `validate_event` cleaned it (PagerDuty's severities, not ours)."""
    dedup_key = event.get("dedup_key") or uuid.uuid4().hex
    key = f"{EXTERNAL_KEY_PREFIX}{dedup_key}"
    if event["event_action"] == "trigger":
        payload = event["payload"]
        alert = services.alert_raise(
            tenant=tenant, kind=AlertKind.EXTERNAL, dedup_key=key, severity=PAGERDUTY_SEVERITIES[payload["severity"]],
            summary=payload["summary"], source=AlertSource.EXTERNAL, site=_site(tenant, payload.get("site")),
            actor=actor, details={"source": payload["source"], **payload.get("details", {}),
                                  **payload.get("custom_details", {})},
        ).alert
    else:
        alert = selectors.alert_open_by_key(tenant=tenant, dedup_key=key)
        if alert is None:
            raise NotFoundError("No open alert with this dedup_key.")
        change = services.alert_acknowledge if event["event_action"] == "acknowledge" else services.alert_resolve
        alert = change(alert=alert, actor=actor)
    return EventOutcome(dedup_key=dedup_key, alert=alert)


def _site(tenant: Tenant, reference: str | None) -> Site | None:
    """The site an event names, by public id or location id (a monitor knows the latter)."""
    if not reference:
        return None
    site = site_get_by_reference(tenant=tenant, reference=reference)
    if site is None:
        raise NotFoundError("No such site.")
    return site
