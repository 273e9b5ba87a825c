"""Tenancy management commands: happy paths and clear CLI errors."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from apps.devices.models import SetupToken
from apps.notifications.models import EscalationPolicy
from apps.tenancy.models import Membership, Site, Tenant

pytestmark = pytest.mark.django_db


def _run(*args, stdin: str | None = None, monkeypatch=None) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_create_tenant_site_and_member(monkeypatch):
    _run("create_tenant", "Blue Inns", "--vertical", "hospitality", "--slug", "blue")
    _run("create_site", "--tenant", "blue", "--name", "Blue Porto", "--location-id", "BP-1",
         "--kind", "hotel", "--timezone", "Europe/Lisbon")
    monkeypatch.setattr("sys.stdin", io.StringIO("a-long-password\n"))
    output = _run("add_member", "--tenant", "blue", "--username", "ana", "--role", "admin",
                  "--password-stdin")
    assert "created user ana is admin of blue" in output
    tenant = Tenant.objects.get(slug="blue")
    assert Site.objects.get(tenant=tenant).location_id == "BP-1"
    membership = Membership.objects.get(tenant=tenant)
    assert membership.role == "admin" and membership.user.check_password("a-long-password")
    # Running again changes the role instead of failing.
    _run("add_member", "--tenant", "blue", "--username", "ana", "--role", "viewer")
    membership.refresh_from_db()
    assert membership.role == "viewer"
    # Limited to a site, and back to every site.
    assert "(BP-1)" in _run("add_member", "--tenant", "blue", "--username", "ana", "--role", "viewer",
                            "--site", "BP-1")
    membership.refresh_from_db()
    assert not membership.all_sites and [site.location_id for site in membership.sites.all()] == ["BP-1"]
    assert "(every site)" in _run("add_member", "--tenant", "blue", "--username", "ana", "--role", "viewer",
                                  "--all-sites")
    with pytest.raises(CommandError, match="No site"):
        _run("add_member", "--tenant", "blue", "--username", "ana", "--site", "NOPE")


@pytest.mark.parametrize(
    "args, message",
    [
        (("create_site", "--tenant", "nope", "--name", "x", "--location-id", "X", "--kind", "hotel"),
         "No tenant"),
        (("create_tenant", "Dup", "--vertical", "retail", "--slug", "tenant-a"), "already exists"),
    ],
)
def test_commands_fail_with_clear_errors(world_a, args, message):
    with pytest.raises(CommandError, match=message):
        _run(*args)


def test_create_site_rejects_unknown_timezone(world_a):
    with pytest.raises(CommandError, match="timezone"):
        _run("create_site", "--tenant", "tenant-a", "--name", "x", "--location-id", "TZ-1",
             "--kind", "hotel", "--timezone", "Mars/Olympus")


def test_seed_demo_is_idempotent_and_prints_logins(tmp_path):
    tokens_file = tmp_path / "tokens.json"
    first = _run("seed_demo", "--tokens-file", str(tokens_file))
    first_tokens = json.loads(tokens_file.read_text())
    second = _run("seed_demo", "--tokens-file", str(tokens_file))
    assert first == second
    # Three demo tenants and the operator tenant that receives platform alerts.
    assert Tenant.objects.count() == 4
    assert EscalationPolicy.objects.filter(tenant__slug="tocsin-ops", name="Platform alerts").exists()
    second_tokens = json.loads(tokens_file.read_text())
    assert {t["site_kind"] for t in second_tokens} == {"hotel", "store", "plant"}
    # Only the newest demo token of each site works; the file always holds working ones.
    assert {t["setup_token"] for t in first_tokens}.isdisjoint({t["setup_token"] for t in second_tokens})
    assert SetupToken.objects.filter(revoked_at__isnull=True).count() == 3
    assert "hotel-admin / tocsin-demo" in first
    assert "operator (superuser)" in first
    assert "platform alerts go to the tenant [tocsin-ops]" in first


def test_setup_periodic_tasks_installs_rows_and_keeps_operator_choices():
    from django_celery_beat.models import PeriodicTask

    _run("setup_periodic_tasks")
    task = PeriodicTask.objects.get(task="tocsin.housekeeping.flush_expired_tokens")
    task.enabled = False
    task.save()
    _run("setup_periodic_tasks")
    task.refresh_from_db()
    assert task.enabled is False
