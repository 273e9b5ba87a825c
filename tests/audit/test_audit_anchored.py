"""A keyed, anchored, append-only audit log, tried as an attacker with database access.

The first wave's chain was SHA-256 over public content: an attacker could edit an entry,
recompute every later hash and pass verification, delete the newest entries and pass, or
change `public_id`, which was outside the hash. Each of those is detected here.
"""

from __future__ import annotations

import hashlib
import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from apps.alerts.models import Alert, Severity
from apps.audit.chain import CHAINED_FIELDS, canonical_json
from apps.audit.models import AnchorKind, AuditAnchor, AuditEntry
from apps.audit.selectors import verify_audit_log
from apps.audit.services import Actor, audit_anchor_chains, audit_purge_before, audit_record
from tests.factories import TenantFactory

pytestmark = pytest.mark.django_db


def _write(tenant, count: int, prefix: str = "test") -> list[AuditEntry]:
    return [audit_record(tenant=tenant, actor=Actor.system(), action=f"{prefix}.{index}") for index in range(count)]


def _breaks(tenant) -> list:
    return verify_audit_log(tenant=tenant)[1]


def _disable_trigger() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no pending foreign-key checks in the way of ALTER
        cursor.execute("ALTER TABLE audit_auditentry DISABLE TRIGGER audit_entry_append_only")


def _public_hash(prev_hash: str, tenant, entry: AuditEntry) -> str:
    """What an attacker can compute: a plain SHA-256 over the previous hash and every column."""
    payload = {name: getattr(entry, name) for name in CHAINED_FIELDS}
    payload["created_at"] = entry.created_at.isoformat(timespec="microseconds")
    payload["tenant"] = tenant.public_id
    return hashlib.sha256(f"{prev_hash}\n{canonical_json(payload)}".encode()).hexdigest()


def test_the_application_role_cannot_update_or_delete_an_entry(world_a):
    entry = _write(world_a.tenant, 1)[0]
    for statement in ("UPDATE audit_auditentry SET action = 'x' WHERE id = %s",
                      "DELETE FROM audit_auditentry WHERE id = %s"):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement, [entry.pk])
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEntry.objects.filter(pk=entry.pk).update(details={"edited": True})
    audit_anchor_chains()
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditAnchor.objects.filter(tenant=world_a.tenant).delete()
    assert AuditEntry.objects.get(pk=entry.pk).action == "test.0"


def test_an_edit_with_every_later_hash_recomputed_by_the_public_algorithm_is_detected(world_a):
    _write(world_a.tenant, 5)
    assert _breaks(world_a.tenant) == []
    _disable_trigger()
    prev = None
    for entry in AuditEntry.objects.filter(tenant=world_a.tenant).order_by("seq"):
        if entry.seq == 3:
            entry.details = {"edited": True}
        if prev is not None:
            entry.prev_hash = prev
        if entry.seq >= 3:
            entry.hash = _public_hash(entry.prev_hash, world_a.tenant, entry)
            entry.save()
        prev = entry.hash
    found = _breaks(world_a.tenant)
    assert [(b.seq, "edited" in b.reason) for b in found] == [(3, True)]


def test_public_id_is_inside_the_hash(world_a):
    victim = _write(world_a.tenant, 3)[1]
    _disable_trigger()
    AuditEntry.objects.filter(pk=victim.pk).update(public_id="aud_swapped0000000000")
    assert [b.seq for b in _breaks(world_a.tenant)] == [victim.seq]


def test_truncating_the_newest_entries_is_detected_by_the_anchor(world_a):
    _write(world_a.tenant, 6)
    assert audit_anchor_chains() >= 1
    _disable_trigger()
    AuditEntry.objects.filter(tenant=world_a.tenant, seq__gte=5).delete()
    found = _breaks(world_a.tenant)
    assert len(found) == 1 and "newest entries were removed" in found[0].reason
    out = io.StringIO()
    with pytest.raises(CommandError):
        call_command("verify_audit_log", "--tenant", world_a.tenant.slug, stdout=out, stderr=out)
    assert "the chain ends at #4" in out.getvalue()


def test_anchoring_is_idempotent_and_a_forged_anchor_is_a_break(world_a):
    _write(world_a.tenant, 2)
    audit_anchor_chains()
    before = AuditAnchor.objects.filter(tenant=world_a.tenant).count()
    audit_anchor_chains()
    assert AuditAnchor.objects.filter(tenant=world_a.tenant).count() == before == 1
    head = AuditEntry.objects.filter(tenant=world_a.tenant).order_by("-seq").first()
    AuditAnchor.objects.create(tenant=world_a.tenant, kind=AnchorKind.HEAD, seq=head.seq + 10,
                               entry_hash="f" * 64, created_at=timezone.now(), key_id="dev1", signature="0" * 64)
    found = _breaks(world_a.tenant)
    assert len(found) == 1 and "signature" in found[0].reason


def test_retention_purges_the_oldest_entries_through_the_one_allowed_path(world_a):
    old = _write(world_a.tenant, 4, prefix="old")
    _write(world_a.tenant, 2, prefix="new")
    cutoff = AuditEntry.objects.get(tenant=world_a.tenant, action="new.0").created_at
    removed = audit_purge_before(tenant=world_a.tenant, before=cutoff, batch_size=3, actor=Actor.system("retention"))
    assert removed == 3
    removed += audit_purge_before(tenant=world_a.tenant, before=cutoff, batch_size=3, actor=Actor.system("retention"))
    assert removed == 4
    actions = list(AuditEntry.objects.filter(tenant=world_a.tenant).order_by("seq").values_list("action", flat=True))
    assert actions == ["new.0", "new.1", "audit.purged", "audit.purged"]
    assert not AuditEntry.objects.filter(pk__in=[e.pk for e in old]).exists()
    assert _breaks(world_a.tenant) == []
    # Outside that path the same DELETE is refused.
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEntry.objects.filter(tenant=world_a.tenant, action="new.0").delete()


def test_a_chain_starting_late_without_a_purge_anchor_is_broken(world_a):
    _write(world_a.tenant, 4)
    _disable_trigger()
    AuditEntry.objects.filter(tenant=world_a.tenant, seq__lte=2).delete()
    found = _breaks(world_a.tenant)
    assert len(found) == 1 and found[0].seq == 3 and "missing" in found[0].reason


def test_rotated_keys_keep_old_entries_verifiable(world_a, settings):
    _write(world_a.tenant, 2)
    old_keys = list(settings.TOCSIN_AUDIT_KEYS)
    settings.TOCSIN_AUDIT_KEYS = ["k2:" + "b" * 64, *old_keys]
    _write(world_a.tenant, 2, prefix="rotated")
    assert set(AuditEntry.objects.filter(tenant=world_a.tenant).values_list("key_id", flat=True)) == {"dev1", "k2"}
    assert _breaks(world_a.tenant) == []
    settings.TOCSIN_AUDIT_KEYS = ["k2:" + "b" * 64]
    found = _breaks(world_a.tenant)
    assert len(found) == 1 and "not configured" in found[0].reason


def test_scheduled_verification_pages_the_operators(world_a, settings):
    from workers.tasks.housekeeping import audit_verify

    operator = TenantFactory(slug="tocsin-ops")
    settings.TOCSIN_OPERATOR_TENANT = operator.slug
    _write(world_a.tenant, 3)
    assert audit_verify.apply().get() == 0
    assert not Alert.objects.filter(tenant=operator).exists()
    _disable_trigger()
    AuditEntry.objects.filter(tenant=world_a.tenant, seq=2).update(action="edited")
    assert audit_verify.apply().get() == 1
    alert = Alert.objects.get(tenant=operator)
    assert alert.severity == Severity.CRITICAL and world_a.tenant.slug in alert.summary
    assert alert.details["seq"] == 2
    assert not Alert.objects.filter(tenant=world_a.tenant).exists()


def test_tenants_download_their_signed_checkpoints(world_a, world_b, client_for):
    _write(world_a.tenant, 2)
    _write(world_b.tenant, 2)
    audit_anchor_chains()
    assert client_for(world_a.staff).get("/api/v1/audit/anchors/").status_code == 403
    rows = client_for(world_a.admin).get("/api/v1/audit/anchors/").json()["results"]
    head = AuditEntry.objects.filter(tenant=world_a.tenant).order_by("-seq").first()
    assert [(r["seq"], r["entry_hash"]) for r in rows] == [(head.seq, head.hash)]
    assert rows[0]["signature"] and rows[0]["kind"] == "head"


def test_old_entries_are_anchored_before_being_purged(world_a):
    _write(world_a.tenant, 2)
    cutoff = timezone.now() + timedelta(seconds=1)
    audit_purge_before(tenant=world_a.tenant, before=cutoff, batch_size=100, actor=Actor.system("retention"))
    purge = AuditAnchor.objects.get(tenant=world_a.tenant, kind=AnchorKind.PURGE)
    # The head is never purged: the chain goes on from it.
    assert purge.seq == 1 and AuditEntry.objects.filter(tenant=world_a.tenant).order_by("seq").first().seq == 2
    assert _breaks(world_a.tenant) == []
