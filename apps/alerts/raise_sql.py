"""The raise as single statements: bump the open alert, or create it, each with its timeline event.

Both are prepared once per connection (`apps.common.rawsql`): PostgreSQL planned these
CTEs afresh for every alert, and the client spelled fifteen parameters into the text.

PostgreSQL decides every race: the bump locks the open alert with the key (`FOR UPDATE`),
and the create is an `INSERT ... ON CONFLICT` on the partial unique index of open alerts,
so two concurrent raises of one problem make one alert. Severities only ever go up on a
duplicate. What "open" means and how severities rank is spelled from the models'
constants (`OPEN_STATUSES`, `SEVERITY_ORDER`), never written out here: the index
predicate, the querysets and these statements must say the same thing.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime

from apps.alerts.models import OPEN_STATUSES, SEVERITY_ORDER, Alert, AlertEventKind, AlertStatus
from apps.audit.services import Actor
from apps.common.ids import generate_public_id
from apps.common.rawsql import PreparedStatement, hydrate, select_columns
from apps.devices.models import Device
from apps.tenancy.models import Site, Tenant


def _sql_strings(values: Iterable[str]) -> str:
    """`'a', 'b'`: the values are the models' own choice constants, never input."""
    return ", ".join(f"'{value}'" for value in map(str, values))


# A duplicate of an open alert: bump it and write its timeline event in one statement.
# No row means no open alert has the key (or it was resolved meanwhile): create one below.
# `previous` reads the severity before the bump, so a raised severity can be re-routed.
_BUMP_SQL = """
WITH previous AS (
    SELECT id AS previous_id, severity AS previous_severity FROM alerts_alert
    WHERE tenant_id = %(tenant_id)s AND dedup_key = %(dedup_key)s AND status IN ({open})
    FOR UPDATE
), raised AS (
    UPDATE alerts_alert SET
        count = count + 1,
        first_seen_at = LEAST(first_seen_at, %(seen_at)s),
        last_seen_at = GREATEST(last_seen_at, %(seen_at)s),
        severity = CASE
            WHEN array_position({rank}, %(severity)s::text) > array_position({rank}, severity::text)
            THEN %(severity)s ELSE severity END,
        details = details || %(details)s::jsonb,
        updated_at = now()
    FROM previous WHERE alerts_alert.id = previous.previous_id
    RETURNING {columns}, false AS inserted, previous.previous_severity
), {event}
SELECT * FROM raised
"""

# Create, or bump the open alert a concurrent raise created first: the partial unique index decides.
_RAISE_SQL = """
WITH raised AS (
    INSERT INTO alerts_alert (
        public_id, tenant_id, site_id, device_id, kind, severity, status, source, dedup_key, summary,
        details, count, first_seen_at, last_seen_at, acknowledged_by_label, resolved_by_label, resolution,
        policy_snapshot, escalation_step, is_group, created_at, updated_at
    ) VALUES (
        %(public_id)s, %(tenant_id)s, %(site_id)s, %(device_id)s, %(kind)s, %(severity)s, '{triggered}', %(source)s,
        %(dedup_key)s, %(summary)s, %(details)s::jsonb, 1, %(seen_at)s, %(seen_at)s, '', '', '', '{{}}'::jsonb, 0,
        %(is_group)s, now(), now()
    )
    ON CONFLICT (tenant_id, dedup_key) WHERE status IN ({open})
    DO UPDATE SET
        count = alerts_alert.count + 1,
        first_seen_at = LEAST(alerts_alert.first_seen_at, EXCLUDED.first_seen_at),
        last_seen_at = GREATEST(alerts_alert.last_seen_at, EXCLUDED.last_seen_at),
        severity = CASE
            WHEN array_position({rank}, EXCLUDED.severity::text)
                 > array_position({rank}, alerts_alert.severity::text)
            THEN EXCLUDED.severity ELSE alerts_alert.severity END,
        details = alerts_alert.details || EXCLUDED.details,
        updated_at = now()
    RETURNING {columns}, (xmax = 0) AS inserted, NULL::text AS previous_severity
), {event}
SELECT * FROM raised
"""

# The raise's entry on the timeline, written by the same statement.
_EVENT_SQL = """event AS (
    INSERT INTO alerts_alertevent (public_id, tenant_id, alert_id, kind, at, actor_type, actor_label, note, data)
    SELECT %(event_id)s, tenant_id, id, CASE WHEN inserted THEN '{raised}' ELSE '{duplicate}' END, %(seen_at)s,
           %(actor_type)s, %(actor_label)s, '', jsonb_build_object('count', count)
    FROM raised
)"""

_statements: dict[str, str] = {}


def _statement(name: str) -> str:
    """The SQL with the alert's columns and the constants spelled out (once: they come from the model)."""
    if name not in _statements:
        template = _BUMP_SQL if name == "bump" else _RAISE_SQL
        event = _EVENT_SQL.format(raised=AlertEventKind.RAISED.value, duplicate=AlertEventKind.DUPLICATE.value)
        _statements[name] = template.format(
            rank=f"ARRAY[{_sql_strings(SEVERITY_ORDER)}]", open=_sql_strings(OPEN_STATUSES),
            triggered=AlertStatus.TRIGGERED.value, columns=select_columns(Alert, "alerts_alert"), event=event)
    return _statements[name]


# Each statement's parameters, in the order of its $n placeholders, with their types.
_PARAMETER_TYPES = {
    "public_id": "varchar", "tenant_id": "bigint", "site_id": "bigint", "device_id": "bigint", "kind": "varchar",
    "severity": "varchar", "source": "varchar", "dedup_key": "varchar", "summary": "varchar", "details": "jsonb",
    "seen_at": "timestamptz", "event_id": "varchar", "actor_type": "varchar", "actor_label": "varchar",
    "is_group": "boolean",
}
_PARAMETERS = {
    "bump": ("tenant_id", "dedup_key", "seen_at", "severity", "details", "event_id", "actor_type", "actor_label"),
    "raise": tuple(_PARAMETER_TYPES),
}


def _prepared_sql(name: str) -> str:
    sql = _statement(name)
    for position, parameter in enumerate(_PARAMETERS[name], start=1):
        sql = sql.replace(f"%({parameter})s", f"${position}")
    if "%(" in sql:
        raise RuntimeError(f"alert {name} statement: a parameter has no position")  # a template edit missed one
    return sql


_PREPARED = {name: PreparedStatement(f"tocsin_alert_{name}", lambda name=name: _prepared_sql(name),
                                     argument_types=", ".join(_PARAMETER_TYPES[p] for p in parameters))
             for name, parameters in _PARAMETERS.items()}


def raise_params(*, tenant: Tenant, kind: str, dedup_key: str, severity: str, summary: str, source: str,
                 site: Site | None, device: Device | None, details: dict | None, seen_at: datetime,
                 actor: Actor, is_group: bool) -> dict:
    """The statements' parameters: the key and summary cut to their columns, fresh public ids."""
    return {
        "public_id": generate_public_id("alr"), "tenant_id": tenant.pk, "site_id": site.pk if site else None,
        "device_id": device.pk if device else None, "kind": kind, "severity": severity, "source": source,
        "dedup_key": dedup_key[:255], "summary": summary[:300], "details": json.dumps(details or {}, default=str),
        "seen_at": seen_at, "event_id": generate_public_id("evt"), "actor_type": actor.type,
        "actor_label": actor.label, "is_group": is_group,
    }


def _execute(name: str, params: dict, *, tenant: Tenant, site: Site | None,
             device: Device | None) -> tuple[Alert, bool, str | None] | None:
    """(alert, inserted, severity before this raise: None when unknown)."""
    row = _PREPARED[name].fetchone(*(params[parameter] for parameter in _PARAMETERS[name]))
    if row is None:
        return None
    alert = hydrate(Alert, row[:-2])
    # The caller's tenant, site and device are the alert's own: attach them, as select_related would.
    Alert._meta.get_field("tenant").set_cached_value(alert, tenant)
    if site is not None and alert.site_id == site.pk:
        Alert._meta.get_field("site").set_cached_value(alert, site)
    if device is not None and alert.device_id == device.pk:
        Alert._meta.get_field("device").set_cached_value(alert, device)
    return alert, bool(row[-2]), row[-1]


def bump_open(params: dict, *, tenant: Tenant, site: Site | None,
              device: Device | None) -> tuple[Alert, str | None] | None:
    """(the bumped open alert, its severity before): None when no alert with the key is open."""
    bumped = _execute("bump", params, tenant=tenant, site=site, device=device)
    return None if bumped is None else (bumped[0], bumped[2])


def insert_or_bump(params: dict, *, tenant: Tenant, site: Site | None, device: Device | None) -> tuple[Alert, bool]:
    """(the alert, whether this statement created it): it bumps an open one a concurrent raise created first."""
    alert, created, _ = _execute("raise", params, tenant=tenant, site=site, device=device)
    return alert, created
