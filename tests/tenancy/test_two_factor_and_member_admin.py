"""TOTP two-factor sign-in required per tenant by its owners, and the member admin screens
(*Memberships*, *Invite by email*, the actions), as tenant admin, staff and viewer."""

from __future__ import annotations

import re
import time

import pytest
from django.core import mail
from django.test import Client
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from apps.audit.models import AuditEntry
from apps.tenancy.models import Membership
from tests.factories import DEFAULT_PASSWORD

pytestmark = pytest.mark.django_db


def _browser(user) -> Client:
    client = Client()
    assert client.login(username=user.username, password=DEFAULT_PASSWORD)
    return client


def _code(device: TOTPDevice) -> str:
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    return f"{totp.token():06d}"


def _require(world, client=None) -> None:
    client = client or _browser(world.owner)
    change = client.post(f"/admin/tenancy/tenant/{world.tenant.pk}/change/", {"require_two_factor": "on"})
    assert change.status_code == 302, change.content.decode()[:1500]
    world.tenant.refresh_from_db()
    assert world.tenant.require_two_factor


def test_totp_is_required_for_a_tenant_that_enforces_it(world_a, world_b):
    staff = _browser(world_a.staff)
    assert staff.get("/admin/").status_code == 200  # not yet enforced
    owner = _browser(world_a.owner)
    _require(world_a, owner)
    assert AuditEntry.objects.filter(tenant=world_a.tenant, action="tenant.two_factor_changed").exists()

    for client in (staff, owner):  # open sessions too: the next admin page asks for a code
        blocked = client.get("/admin/alerts/alert/")
        assert blocked.status_code == 302 and blocked["Location"].startswith("/admin/two-factor/")
    assert staff.get("/board/")["Location"].startswith("/admin/two-factor/?next=/board/")
    refused = staff.get("/api/v1/me/")  # the API on the browser session is held back too
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "two_factor_required"
    page = staff.get("/admin/two-factor/")
    html = page.content.decode()
    assert page.status_code == 200 and "<svg" in html and "otpauth://totp/" in html
    assert "Tenant A" in html  # says who requires it
    device = TOTPDevice.objects.get(user=world_a.staff, confirmed=False)
    assert staff.post("/admin/two-factor/", {"code": "000000"}).status_code == 200
    assert staff.get("/admin/").status_code == 302  # a wrong code confirms nothing
    time.sleep(1.1)  # django-otp's throttle: after a wrong code, the next try waits 1 s (doubling)
    done = staff.post("/admin/two-factor/", {"code": _code(device), "next": "/admin/alerts/alert/"})
    assert done.status_code == 302 and done["Location"] == "/admin/alerts/alert/"
    assert staff.get("/admin/alerts/alert/").status_code == 200
    assert staff.get("/board/").status_code == 200 and staff.get("/api/v1/me/").status_code == 200
    assert TOTPDevice.objects.get(user=world_a.staff).confirmed

    fresh = _browser(world_a.staff)  # the next sign-in asks for a code, no enrolment
    assert fresh.get("/admin/").status_code == 302
    assert "otpauth://" not in fresh.get("/admin/two-factor/").content.decode()
    device.refresh_from_db()
    device.last_t = -1
    device.save()
    assert fresh.post("/admin/two-factor/", {"code": _code(device)}).status_code == 302
    assert fresh.get("/admin/").status_code == 200

    assert _browser(world_b.staff).get("/admin/").status_code == 200  # another tenant is not affected


@pytest.mark.parametrize("role", ["admin", "staff", "viewer"])
def test_only_owners_turn_two_factor_on(world_a, role):
    client = _browser(getattr(world_a, role))
    response = client.post(f"/admin/tenancy/tenant/{world_a.tenant.pk}/change/", {"require_two_factor": "on"})
    assert response.status_code == 403
    world_a.tenant.refresh_from_db()
    assert not world_a.tenant.require_two_factor


def test_the_invite_screen_as_admin_sends_a_link(world_a, django_capture_on_commit_callbacks):
    client = _browser(world_a.admin)
    page = client.get("/admin/tenancy/membership/invite/")
    assert page.status_code == 200 and "Invite someone by email" in page.content.decode()
    assert "Invite by email" in client.get("/admin/tenancy/membership/").content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        sent = client.post("/admin/tenancy/membership/invite/", {
            "tenant": world_a.tenant.pk, "email": "Desk@Example.com", "role": "viewer", "all_sites": "on"})
    assert sent.status_code == 302
    assert mail.outbox[0].to == ["desk@example.com"]
    assert re.search(r"/accounts/invite/\S+/", mail.outbox[0].body)
    above = client.post("/admin/tenancy/membership/invite/", {
        "tenant": world_a.tenant.pk, "email": "boss@example.com", "role": "owner", "all_sites": "on"})
    assert above.status_code == 200 and not Membership.objects.filter(user__email="boss@example.com").exists()
    listing = client.get("/admin/tenancy/membership/").content.decode()
    assert "desk@example.com" in listing and "pending" in listing
    assert "desk@example.com" in client.get("/admin/tenancy/invitation/").content.decode()


@pytest.mark.parametrize("role", ["staff", "viewer"])
def test_staff_and_viewers_cannot_invite_or_deactivate(world_a, role):
    client = _browser(getattr(world_a, role))
    page = client.get("/admin/tenancy/membership/invite/")
    assert page.status_code == 302
    assert client.post("/admin/tenancy/membership/invite/", {
        "tenant": world_a.tenant.pk, "email": "x@example.com", "role": "viewer", "all_sites": "on"}).status_code == 302
    assert not Membership.objects.filter(user__email="x@example.com").exists()
    assert client.get("/admin/tenancy/invitation/").status_code == 403
    target = Membership.objects.get(tenant=world_a.tenant, user=world_a.viewer)
    client.post("/admin/tenancy/membership/", {"action": "deactivate_selected", "_selected_action": [target.pk]})
    target.refresh_from_db()
    assert target.is_active


def test_the_deactivate_action_in_the_admin(world_a):
    client = _browser(world_a.admin)
    target = Membership.objects.get(tenant=world_a.tenant, user=world_a.viewer)
    viewer = _browser(world_a.viewer)
    response = client.post("/admin/tenancy/membership/", {"action": "deactivate_selected",
                                                          "_selected_action": [target.pk]})
    assert response.status_code == 302
    target = Membership.everyone.get(pk=target.pk)
    assert not target.is_active
    assert viewer.get("/admin/").status_code == 302
    listing = client.get("/admin/tenancy/membership/?is_active__exact=0").content.decode()
    assert world_a.viewer.username in listing
    change = client.get(f"/admin/tenancy/membership/{target.pk}/change/").content.decode()
    assert 'name="sites"' in change
    client.post("/admin/tenancy/membership/", {"action": "reactivate_selected", "_selected_action": [target.pk]})
    assert Membership.objects.filter(pk=target.pk).exists()


def test_the_membership_change_form_scopes_sites(world_a, world_b):
    client = _browser(world_a.admin)
    target = Membership.objects.get(tenant=world_a.tenant, user=world_a.viewer)
    html = client.get(f"/admin/tenancy/membership/{target.pk}/change/").content.decode()
    assert world_a.site.name in html and world_b.site.name not in html
    response = client.post(f"/admin/tenancy/membership/{target.pk}/change/",
                           {"role": "viewer", "sites": [world_a.site.pk]})
    assert response.status_code == 302
    target.refresh_from_db()
    assert target.all_sites is False and list(target.sites.all()) == [world_a.site]
    refused = client.post(f"/admin/tenancy/membership/{target.pk}/change/", {"role": "viewer"})
    assert refused.status_code == 200  # no site and not all sites


def test_a_manager_removes_a_lost_authenticator(world_a):
    device = TOTPDevice.objects.create(user=world_a.viewer, name="phone", confirmed=True)
    viewer = _browser(world_a.viewer)
    assert viewer.get("/admin/").status_code == 302  # their own authenticator: a code is asked
    target = Membership.objects.get(tenant=world_a.tenant, user=world_a.viewer)
    staff = _browser(world_a.staff)
    staff.post("/admin/tenancy/membership/", {"action": "reset_two_factor", "_selected_action": [target.pk]})
    assert TOTPDevice.objects.filter(pk=device.pk).exists()  # staff cannot
    _browser(world_a.admin).post("/admin/tenancy/membership/", {"action": "reset_two_factor",
                                                                "_selected_action": [target.pk]})
    assert not TOTPDevice.objects.filter(user=world_a.viewer).exists()
    assert AuditEntry.objects.filter(tenant=world_a.tenant, action="membership.two_factor_reset").exists()
    assert _browser(world_a.viewer).get("/admin/").status_code == 200  # no tenant requires it
