"""Scans: each scan stored once (by its client-generated id), alerts raised for new scans only.

A batch that raises nothing, the usual case, is one statement (the scans and the batch
record); otherwise the scans and their alerts are written in one transaction. The
document-reuse rule then looks at the new scans' documents by their keyed hash alone.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from apps.alerts.services import RaiseResult
from apps.devices.models import Device
from apps.ingest import rules as rule_engine
from apps.ingest.models import Scan, age_band
from apps.ingest.services.batches import BatchResult, array_literal
from apps.ingest.services.decisions import decisions_apply
from apps.ingest.services.liveness import device_touch
from apps.ingest.site_rules import rules_for_site

# One array per column (unnest) rather than a placeholder per value: binding 1,400 values
# one by one cost more CPU than PostgreSQL spends inserting the 100 rows.
_SCAN_INSERT = """
INSERT INTO ingest_scan (tenant_id, device_id, site_id, batch_id, received_at, scan_id, scanned_at, birth_year, age,
                         age_band, is_underage, is_valid, document_expired, jurisdiction, subject_hash)
SELECT %(tenant_id)s, %(device_id)s, %(site_id)s, %(batch_id)s, now(), scan.*
FROM unnest(%(scan_id)s::uuid[], %(scanned_at)s::timestamptz[], %(birth_year)s::smallint[], %(age)s::smallint[],
            %(age_band)s::varchar[], %(is_underage)s::boolean[], %(is_valid)s::boolean[],
            %(document_expired)s::boolean[], %(jurisdiction)s::varchar[], %(subject_hash)s::varchar[]) AS scan
ON CONFLICT (device_id, scan_id) DO NOTHING
RETURNING scan_id
"""
_SCAN_BATCH_INSERT = """
INSERT INTO ingest_scanbatch (tenant_id, device_id, batch_id, received_at, accepted, duplicates, rejected)
SELECT %(tenant_id)s, %(device_id)s, %(batch_id)s, now(), inserted, %(count)s - inserted, %(rejected)s
FROM (SELECT count(*) AS inserted FROM scans) AS counted
ON CONFLICT (device_id, batch_id) DO NOTHING
"""

_SCANS_AND_BATCH = f"WITH scans AS ({_SCAN_INSERT}), batch AS ({_SCAN_BATCH_INSERT}) SELECT scan_id FROM scans"  # noqa: S608


def _scan_params(device: Device, batch_id, scans: list[dict], rejected: list[dict]) -> dict:
    flag = {True: "t", False: "f"}
    return {
        "tenant_id": device.tenant_id, "device_id": device.pk, "site_id": device.site_id, "batch_id": batch_id,
        "count": len(scans), "rejected": len(rejected),
        "scan_id": array_literal([str(s["scan_id"]) for s in scans]),
        "scanned_at": array_literal([s["scanned_at"].isoformat() for s in scans]),
        "birth_year": array_literal([str(s["birth_year"]) for s in scans]),
        "age": array_literal([str(s["age"]) for s in scans]),
        "age_band": array_literal([age_band(s["age"]) for s in scans], text=True),
        "is_underage": array_literal([flag[s["is_underage"]] for s in scans]),
        "is_valid": array_literal([flag[s["is_valid"]] for s in scans]),
        "document_expired": array_literal([flag[s["document_expired"]] for s in scans]),
        "jurisdiction": array_literal([s["jurisdiction"] for s in scans], text=True),
        "subject_hash": array_literal([s["subject_hash"] for s in scans], text=True),
    }


def scans_ingest(*, device: Device, batch_id, scans: list[dict], rejected: list[dict]) -> BatchResult:
    """Store valid scans once each; raise underage/document alerts for the new ones only.

    The rules are judged first (they are pure): a batch that raises nothing, the usual
    case, is stored by one statement (scans and the batch record); otherwise the scans and
    their alerts are written in one transaction, alerts only for scans not seen before.
    """
    rules = rules_for_site(device.site).rules
    decided = {}
    for scan in scans:
        decisions = rule_engine.evaluate_scan(device=device, rules=rules, scan=scan)
        if decisions.raises or decisions.clears:
            decided[scan["scan_id"]] = (scan, decisions)
    params = _scan_params(device, batch_id, scans, rejected)
    if not decided:
        with connection.cursor() as cursor:
            cursor.execute(_SCANS_AND_BATCH, params)
            inserted = {row[0] for row in cursor.fetchall()}
        accepted = len(inserted)
    else:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(_SCANS_AND_BATCH, params)
                inserted = {row[0] for row in cursor.fetchall()}
            accepted = len(inserted)
            for scan_id, (scan, decisions) in decided.items():
                if scan_id in inserted:
                    decisions_apply(device=device, decisions=decisions, occurred_at=scan["scanned_at"])
    hashes = {scan["subject_hash"] for scan in scans if scan["subject_hash"] and scan["scan_id"] in inserted}
    if hashes:
        document_reuse_check(device=device, subject_hashes=hashes)
    device_touch(device=device)
    return BatchResult(accepted=accepted, duplicates=len(scans) - accepted, rejected=rejected)


def document_reuse_check(*, device: Device, subject_hashes: set[str]) -> list[RaiseResult]:
    """The document-reuse rule over the new scans' documents: one query for their recent
    sightings in the tenant (by the indexed keyed hash), the rule judges, repeats bump one
    alert per document. Nothing about the person is stored to do it."""
    window = settings.TOCSIN_DOCUMENT_REUSE_WINDOW_SECONDS
    since = timezone.now() - timedelta(seconds=window * 2)
    sightings: dict[str, list[rule_engine.Sighting]] = {}
    rows = Scan.objects.filter(tenant_id=device.tenant_id, subject_hash__in=subject_hashes, scanned_at__gte=since) \
        .values_list("subject_hash", "site_id", "site__public_id", "scanned_at", "is_underage")
    for subject_hash, site_id, site_public_id, scanned_at, is_underage in rows:
        sightings.setdefault(subject_hash, []).append(rule_engine.Sighting(
            site_id=site_id, site_public_id=site_public_id, scanned_at=scanned_at, is_underage=is_underage))
    decisions = rule_engine.Decisions()
    for subject_hash, seen in sightings.items():
        found = rule_engine.evaluate_document_reuse(
            subject_hash=subject_hash, sightings=seen, window_seconds=window,
            repeats_after_refusal=settings.TOCSIN_DOCUMENT_REUSE_AFTER_REFUSAL)
        if found is not None:
            decisions.raises.append(found)
    return decisions_apply(device=device, decisions=decisions) if decisions.raises else []
