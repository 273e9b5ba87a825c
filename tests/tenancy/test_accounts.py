"""Self-service accounts (issue 16): invitations, role and site changes, deactivation,
password resets, as the tenant's admin, staff and viewer, through the API and the admin."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from apps.audit.models import AuditEntry
from apps.tenancy.models import Invitation, Membership
from tests.factories import DEFAULT_PASSWORD, SiteFactory

pytestmark = pytest.mark.django_db
NEW_PASSWORD = "a-much-longer-passphrase-7"


def _link(message) -> str:
    return re.search(r"https?://\S+", message.body).group(0)


def _path(url: str) -> str:
    return "/" + url.split("/", 3)[3]


def _pair(username: str, password: str = DEFAULT_PASSWORD) -> dict:
    response = APIClient().post("/api/v1/auth/token/", {"username": username, "password": password}, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def _bearer(access: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client


def _invite(client_for, world, committed, **body):
    with committed():
        response = client_for(world.admin).post("/api/v1/invites/", {"email": "ana@example.com", "role": "staff",
                                                                     **body}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def test_an_invite_link_sets_a_password_once_and_then_expires(world_a, client_for, committed):
    body = _invite(client_for, world_a, committed)
    assert body["invitation"]["state"] == "pending" and body["member"]["has_password"] is False
    (message,) = mail.outbox
    assert message.to == ["ana@example.com"] and world_a.tenant.name in message.subject
    page = _path(_link(message))
    browser = Client()
    assert browser.get(page).status_code == 200
    assert "Welcome to Tenant A" in browser.get(page).content.decode()
    weak = browser.post(page, {"new_password1": "123", "new_password2": "123"})
    assert weak.status_code == 200 and "Set my password" in weak.content.decode()
    done = browser.post(page, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert done.status_code == 200 and "Your password is set" in done.content.decode()
    assert _pair("ana@example.com", NEW_PASSWORD)["access"]

    again = Client().post(page, {"new_password1": "another-passphrase-9", "new_password2": "another-passphrase-9"})
    assert again.status_code == 404 and Client().get(page).status_code == 404
    token = page.rstrip("/").rsplit("/", 1)[1]
    api_again = APIClient().post("/api/v1/auth/invite/accept/", {"token": token, "password": "another-pass-99x"},
                                 format="json")
    assert api_again.status_code == 404
    assert _pair("ana@example.com", NEW_PASSWORD)  # the second use changed nothing
    assert Invitation.objects.get().state == "accepted"
    assert AuditEntry.objects.filter(tenant=world_a.tenant, action="membership.invited").exists()
    assert "ana@example.com" not in str(list(AuditEntry.objects.values_list("details", flat=True)))


def test_an_invite_link_expires(world_a, client_for, committed, settings):
    assert settings.TOCSIN_INVITE_TTL_HOURS == 72
    body = _invite(client_for, world_a, committed)
    expires = timezone.now() + timedelta(hours=72)
    assert abs((Invitation.objects.get().expires_at - expires).total_seconds()) < 60
    Invitation.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    page = _path(_link(mail.outbox[0]))
    assert Client().post(page, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}).status_code == 404
    assert Client().get(page).status_code == 404
    assert client_for(world_a.admin).get(f"/api/v1/invites/{body['invitation']['id']}/").json()["state"] == "expired"


def test_inviting_someone_with_an_account_tells_them_and_scopes_the_membership(world_a, world_b, client_for,
                                                                                  committed):
    lisbon = SiteFactory(tenant=world_a.tenant, name="Lisbon")
    body = _invite(client_for, world_a, committed, email=world_b.staff.email, all_sites=False,
                   sites=[lisbon.public_id])
    assert body["invitation"] is None and "added you" in mail.outbox[0].body
    membership = Membership.objects.get(tenant=world_a.tenant, user=world_b.staff)
    assert membership.all_sites is False and list(membership.sites.all()) == [lisbon]
    foreign = client_for(world_a.admin).post("/api/v1/invites/", {"email": "x@example.com", "all_sites": False,
                                                                  "sites": [world_b.site.public_id]}, format="json")
    assert foreign.status_code == 400
    twice = client_for(world_a.admin).post("/api/v1/invites/", {"email": world_b.staff.email}, format="json")
    assert twice.status_code == 409


@pytest.mark.parametrize("role", ["staff", "viewer"])
def test_only_managers_see_and_invite_members(world_a, client_for, role):
    client = client_for(getattr(world_a, role))
    assert client.get("/api/v1/members/").status_code == 403
    assert client.get("/api/v1/invites/").status_code == 403
    assert client.post("/api/v1/invites/", {"email": "x@example.com"}, format="json").status_code == 403


def test_admins_change_roles_and_sites_within_their_own_rank(world_a, world_b, client_for):
    admin = client_for(world_a.admin)
    staff = Membership.objects.get(tenant=world_a.tenant, user=world_a.staff)
    url = f"/api/v1/members/{staff.public_id}/"
    changed = admin.patch(url, {"role": "viewer", "all_sites": False, "sites": [world_a.site.public_id]},
                          format="json")
    assert changed.status_code == 200, changed.content
    assert changed.json()["role"] == "viewer" and changed.json()["sites"] == [world_a.site.public_id]
    assert admin.patch(url, {"role": "owner"}, format="json").status_code == 403
    owner = Membership.objects.get(tenant=world_a.tenant, user=world_a.owner)
    assert admin.post(f"/api/v1/members/{owner.public_id}/deactivate/").status_code == 403
    foreign = Membership.objects.get(tenant=world_b.tenant, user=world_b.staff)
    assert admin.get(f"/api/v1/members/{foreign.public_id}/").status_code == 404
    assert admin.post(f"/api/v1/members/{foreign.public_id}/deactivate/").status_code == 404
    listed = {m["username"] for m in admin.get("/api/v1/members/").json()["results"]}
    assert world_a.viewer.username in listed and world_b.viewer.username not in listed


def test_a_deactivated_members_access_and_refresh_tokens_are_refused_at_once(world_a, client_for):
    tokens = _pair(world_a.staff.username)
    assert _bearer(tokens["access"]).get("/api/v1/me/").status_code == 200
    session = Client()
    assert session.login(username=world_a.staff.username, password=DEFAULT_PASSWORD)
    assert session.get("/admin/").status_code == 200

    staff = Membership.objects.get(tenant=world_a.tenant, user=world_a.staff)
    response = client_for(world_a.admin).post(f"/api/v1/members/{staff.public_id}/deactivate/")
    assert response.status_code == 200 and response.json()["is_active"] is False

    assert _bearer(tokens["access"]).get("/api/v1/me/").status_code == 401
    refreshed = APIClient().post("/api/v1/auth/refresh/", {"refresh": tokens["refresh"]}, format="json")
    assert refreshed.status_code == 401
    assert session.get("/admin/").status_code == 302  # the session was ended
    login = APIClient().post("/api/v1/auth/token/", {"username": world_a.staff.username,
                                                      "password": DEFAULT_PASSWORD}, format="json")
    assert login.status_code == 401
    assert AuditEntry.objects.filter(tenant=world_a.tenant, action="membership.deactivated").exists()

    client_for(world_a.admin).post(f"/api/v1/members/{staff.public_id}/reactivate/")
    assert _pair(world_a.staff.username)["access"]
    assert _bearer(tokens["access"]).get("/api/v1/me/").status_code == 401  # old tokens stay dead


def test_deactivation_in_one_tenant_keeps_the_other(world_a, world_b, client_for):
    Membership.objects.create(tenant=world_b.tenant, user=world_a.staff, role="viewer")
    staff = Membership.objects.get(tenant=world_a.tenant, user=world_a.staff)
    client_for(world_a.admin).post(f"/api/v1/members/{staff.public_id}/deactivate/")
    access = _pair(world_a.staff.username)["access"]
    client = _bearer(access)
    assert client.get("/api/v1/sites/", HTTP_X_TENANT=world_a.tenant.public_id).status_code == 404
    assert client.get("/api/v1/sites/", HTTP_X_TENANT=world_b.tenant.public_id).status_code == 200
    assert client.get("/api/v1/sites/").status_code == 200  # one active membership left: it is the tenant


def test_people_reset_their_own_password_by_email_and_old_tokens_die(world_a, committed):
    old = _pair(world_a.viewer.username)
    with committed():
        sent = Client().post("/accounts/password-reset/", {"email": world_a.viewer.email})
    assert sent.status_code == 302
    with committed():
        unknown = Client().post("/accounts/password-reset/", {"email": "nobody@example.com"})
    assert unknown.status_code == 302 and len(mail.outbox) == 1  # same answer, no email
    browser = Client()
    form = browser.get(_path(_link(mail.outbox[0])), follow=True)
    assert form.status_code == 200 and "new_password1" in form.content.decode()
    done = browser.post(form.redirect_chain[-1][0], {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert done.status_code == 302
    assert _pair(world_a.viewer.username, NEW_PASSWORD)
    assert _bearer(old["access"]).get("/api/v1/me/").status_code == 401
    reused = Client().get(_path(_link(mail.outbox[0])), follow=True)
    assert "new_password1" not in reused.content.decode()  # the link worked once


def test_reset_requests_are_limited_per_address(world_a, committed):
    with committed():
        for _ in range(7):
            Client().post("/accounts/password-reset/", {"email": world_a.viewer.email})
    assert len(mail.outbox) == 5


def test_a_manager_triggers_a_password_reset(world_a, client_for, committed):
    viewer = Membership.objects.get(tenant=world_a.tenant, user=world_a.viewer)
    with committed():
        response = client_for(world_a.admin).post(f"/api/v1/members/{viewer.public_id}/password-reset/")
    assert response.status_code == 200 and response.json() == {"sent": "reset_sent"}
    assert mail.outbox[0].to == [world_a.viewer.email] and "/accounts/reset/" in mail.outbox[0].body
    assert client_for(world_a.staff).post(f"/api/v1/members/{viewer.public_id}/password-reset/").status_code == 403


def test_the_11th_failed_admin_sign_in_is_throttled(world_a):
    for n in range(10):
        form = Client(REMOTE_ADDR=f"10.9.0.{n + 1}").post("/admin/login/", {"username": world_a.admin.username,
                                                                            "password": "wrong-guess"})
        assert form.status_code == 200  # the form again, with its error
    locked = Client(REMOTE_ADDR="10.9.0.11").post("/admin/login/", {"username": world_a.admin.username,
                                                                    "password": "wrong-guess"})
    assert locked.status_code == 429 and 1 <= int(locked["Retry-After"]) <= 900
    api = APIClient(REMOTE_ADDR="10.9.0.12").post("/api/v1/auth/token/", {"username": world_a.admin.username,
                                                                          "password": DEFAULT_PASSWORD}, format="json")
    assert api.status_code == 429  # one account, one count, whichever door
