"""The audit chain: recorded by the actions that matter, verifiable, tamper-evident, unforked.

Tampering is tried as an attacker with database access would: the trigger that refuses
UPDATE and DELETE is first switched off (as the table's owner can), then rows are edited,
with every later hash recomputed by the public algorithm, or the newest rows are deleted.
"""

from __future__ import annotations

import io
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from rest_framework.test import APIClient

from apps.audit.models import AuditEntry
from apps.audit.services import Actor, audit_record
from tests.factories import DEFAULT_PASSWORD

pytestmark = pytest.mark.django_db


def _as_owner_without_trigger(cursor) -> None:
    """The table's owner can switch the trigger off; DDL is transactional, so only for this test."""
    cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no pending foreign-key checks in the way of ALTER
    cursor.execute("ALTER TABLE audit_auditentry DISABLE TRIGGER audit_entry_append_only")


def _verify(*args) -> str:
    out = io.StringIO()
    call_command("verify_audit_log", *args, stdout=out, stderr=out)
    return out.getvalue()


def test_logins_and_failed_logins_are_recorded(world_a):
    client = APIClient()
    client.post("/api/v1/auth/token/", {"username": world_a.admin.username, "password": DEFAULT_PASSWORD},
                format="json")
    client.post("/api/v1/auth/token/", {"username": world_a.admin.username, "password": "wrong"}, format="json")
    client.post("/api/v1/auth/token/", {"username": "ghost@example.com", "password": "x"}, format="json")
    actions = list(AuditEntry.objects.filter(tenant=world_a.tenant).values_list("action", flat=True))
    assert "user.login" in actions and "user.login_failed" in actions
    platform = AuditEntry.objects.get(tenant=None, action="user.login_failed")
    assert "ghost" not in str(platform.details) and "ghost" not in platform.actor_label
    assert "wrong" not in str(list(AuditEntry.objects.values_list("details", flat=True)))


def test_admin_session_login_is_recorded(world_a):
    from django.test import Client

    assert Client().login(username=world_a.staff.username, password=DEFAULT_PASSWORD)
    assert AuditEntry.objects.filter(tenant=world_a.tenant, action="user.login",
                                     details__channel="session").exists()


def test_membership_changes_are_recorded(world_a):
    from apps.tenancy.memberships import membership_set

    membership_set(tenant=world_a.tenant, user=world_a.viewer, role="staff", actor=world_a.owner)
    entry = AuditEntry.objects.filter(action="membership.changed").get()
    assert entry.actor_label == world_a.owner.username
    assert entry.details == {"role": "staff", "all_sites": True, "sites": []}


def test_chain_verifies_and_names_an_edited_entry(world_a):
    for index in range(5):
        audit_record(tenant=world_a.tenant, actor=Actor.system(), action=f"test.{index}")
    assert "OK" in _verify("--tenant", world_a.tenant.slug)
    victim = AuditEntry.objects.get(tenant=world_a.tenant, action="test.2")
    with connection.cursor() as cursor:
        _as_owner_without_trigger(cursor)
        cursor.execute("UPDATE audit_auditentry SET details = %s WHERE id = %s", ['{"edited": true}', victim.pk])
    with pytest.raises(CommandError):
        _verify("--tenant", world_a.tenant.slug)
    out = io.StringIO()
    with pytest.raises(CommandError):
        call_command("verify_audit_log", stdout=out, stderr=out)
    assert f"#{victim.seq} ({victim.public_id})" in out.getvalue()
    assert "edited" in out.getvalue()


def test_a_deleted_entry_breaks_the_chain(world_a):
    for index in range(3):
        audit_record(tenant=world_a.tenant, actor=Actor.system(), action=f"test.{index}")
    with connection.cursor() as cursor:
        _as_owner_without_trigger(cursor)
    AuditEntry.objects.filter(tenant=world_a.tenant, action="test.1").delete()
    out = io.StringIO()
    with pytest.raises(CommandError):
        call_command("verify_audit_log", "--tenant", world_a.tenant.slug, stdout=out, stderr=out)
    assert "missing" in out.getvalue()


def test_secrets_are_refused_in_details(world_a):
    with pytest.raises(ValueError):
        audit_record(tenant=world_a.tenant, actor=Actor.system(), action="x", details={"token": "st_abc"})


def test_fifty_concurrent_writers_leave_one_unbroken_chain(transactional_db, world_a):
    def write(index: int) -> None:
        try:
            audit_record(tenant=world_a.tenant, actor=Actor.system(), action="concurrent", target_id=str(index))
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=10) as pool:
        list(pool.map(write, range(50)))
    entries = AuditEntry.objects.filter(tenant=world_a.tenant, action="concurrent")
    assert entries.count() == 50
    seqs = sorted(AuditEntry.objects.filter(tenant=world_a.tenant).values_list("seq", flat=True))
    assert seqs == list(range(1, len(seqs) + 1))
    assert "OK" in _verify("--tenant", world_a.tenant.slug)


def test_unknown_tenant_is_a_clear_cli_error(db):
    with pytest.raises(CommandError, match="No tenant"):
        _verify("--tenant", "nope")


def test_audit_api_is_for_managers(world_a, client_for):
    audit_record(tenant=world_a.tenant, actor=Actor.system(), action="test.visible")
    assert client_for(world_a.staff).get("/api/v1/audit/").status_code == 403
    rows = client_for(world_a.admin).get("/api/v1/audit/").json()["results"]
    assert rows[0]["action"] == "test.visible"
