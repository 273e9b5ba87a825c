"""A tenant's data as a whole: exported to a zip on request, erased on request, leaving a
tombstone in the operator's (platform) audit chain.

Only the top of the tree sees every app, so this lives beside the commands that use it.
Every model with a `tenant` foreign key is in scope, found from the app registry, so a new
table is exported and erased without anyone remembering to add it. Credentials (hashes of
tokens and keys, encrypted provider secrets, the tenant's scan-hash key) stay out of the
export: they are the platform's means of checking, useless and dangerous outside it.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import Iterator

from django.apps import apps
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, models, transaction

from apps.audit.models import AuditAnchor, AuditEntry
from apps.audit.services import Actor, audit_record
from apps.devices.models import Device
from apps.reports.models import Report
from apps.tenancy.models import LegalHold, Tenant

CREDENTIAL_FIELDS = frozenset({"token_hash", "credential_hash", "key_hash", "secret_encrypted", "scan_hash_key",
                               "content"})


class TenantHeld(Exception):
    """A legal hold is in force: the tenant cannot be erased until it is released."""


def tenant_models() -> list[type[models.Model]]:
    """Every model that carries a tenant, in a stable order."""
    owned = []
    for model in apps.get_models():
        field = next((f for f in model._meta.get_fields() if f.name == "tenant" and f.is_relation), None)
        if field is not None and field.related_model is Tenant:
            owned.append(model)
    return sorted(owned, key=lambda m: m._meta.label)


def _columns(model) -> list[str]:
    return [f.attname for f in model._meta.concrete_fields if f.name not in CREDENTIAL_FIELDS]


def _cell(value) -> str:
    if isinstance(value, dict | list):
        return json.dumps(value, cls=DjangoJSONEncoder, sort_keys=True)
    if value is None:
        return ""
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def _csv(columns: list[str], rows: Iterator) -> Iterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(value) for value in row])
        if buffer.tell() > 1 << 16:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode()


def tenant_export(*, tenant: Tenant, target, actor: Actor) -> dict[str, int]:
    """Writes the zip to `target` (a path or a binary file); returns rows per table. One CSV per
    table (and per many-to-many link), plus `tenant.json`; streamed, table by table."""
    counts: dict[str, int] = {}
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        profile = {f.attname: _cell(getattr(tenant, f.attname)) for f in Tenant._meta.concrete_fields
                   if f.name not in CREDENTIAL_FIELDS}
        archive.writestr("tenant.json", json.dumps(profile, indent=2, sort_keys=True))
        for model in tenant_models():
            rows = model._base_manager.filter(tenant=tenant).order_by("pk")  # deactivated members too
            columns = _columns(model)
            counts[model._meta.label] = rows.count()
            with archive.open(f"{model._meta.label}.csv", "w") as member:
                for chunk in _csv(columns, rows.values_list(*columns).iterator(chunk_size=2000)):
                    member.write(chunk)
            for m2m in model._meta.many_to_many:
                through = m2m.remote_field.through
                links = through.objects.filter(**{f"{m2m.m2m_field_name()}__tenant": tenant}).order_by("pk")
                link_columns = [f.attname for f in through._meta.concrete_fields]
                counts[through._meta.label] = links.count()
                with archive.open(f"{through._meta.label}.csv", "w") as member:
                    for chunk in _csv(link_columns, links.values_list(*link_columns).iterator(chunk_size=2000)):
                        member.write(chunk)
    audit_record(tenant=tenant, actor=actor, action="tenant.exported", target_type="tenant",
                 target_id=tenant.public_id, details={"tables": len(counts), "rows": sum(counts.values())})
    return counts


def tenant_erase(*, tenant: Tenant, actor: Actor) -> dict[str, int]:
    """Deletes everything the tenant owns, its audit chain included (through the one path the
    audit trigger allows), and records a tombstone in the platform chain. Refused under a hold."""
    if LegalHold.objects.filter(tenant=tenant, released_at__isnull=True).exists():
        raise TenantHeld(f"{tenant.slug} is under a legal hold")
    counts = {model._meta.label: model._base_manager.filter(tenant=tenant).count() for model in tenant_models()}
    public_id, slug = tenant.public_id, tenant.slug
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('tocsin.audit_purge', 'on', true)")
            AuditEntry.objects.filter(tenant=tenant).delete()
            AuditAnchor.objects.filter(tenant=tenant).delete()
            cursor.execute("SELECT set_config('tocsin.audit_purge', 'off', true)")
        # What protects a site from deletion goes first; the rest cascades from the tenant.
        for model in (Report, LegalHold, Device):
            model.objects.filter(tenant=tenant).delete()
        tenant.delete()
        audit_record(tenant=None, actor=actor, action="tenant.erased", target_type="tenant", target_id=public_id,
                     details={"slug": slug, "rows": sum(counts.values()), "tables": {k: v for k, v in counts.items()
                                                                                       if v}})
    return counts
