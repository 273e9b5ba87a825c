"""No admin page shows a tenant-A person anything of tenant B: not in the changelists, their
filter sidebars, the add forms or the change forms of A's own objects.

Tenant B is given one of everything the admin lists (sites, devices, alerts, setup tokens,
API keys, channels, policies, deliveries, scans, samples, readings, rules, members, audit
entries), each carrying "bravo" in its name, and every registered admin page is then
fetched as A's staff and A's admin.
"""

from __future__ import annotations

import uuid
from datetime import time

import pytest
from django.contrib import admin
from django.test import Client
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from apps.alerts.services import alert_raise
from apps.audit.services import Actor
from apps.devices.api_keys import api_key_create
from apps.devices.setup_tokens import setup_token_create
from apps.ingest.models import TelemetryThreshold
from apps.ingest.services.rulesets import ruleset_defaults_create
from apps.notifications.channels import channel_create
from apps.notifications.models import Notification, QuietHours
from apps.notifications.policies import policy_save
from apps.tenancy.memberships import membership_set
from apps.tenancy.models import Role
from tests.factories import DEFAULT_PASSWORD, MembershipFactory, SiteFactory, UserFactory

pytestmark = pytest.mark.django_db

ACTOR = Actor.system("test")


def _populate(world, word: str, device_client) -> dict:
    """One of everything, named after `word`, in `world`'s tenant; returns what must not leak."""
    tenant = world.tenant
    site = world.site
    site.name, site.location_id = f"{word.title()} Harbour Hotel", f"{word.upper()}-LOC-77"
    site.save()
    store = SiteFactory(tenant=tenant, kind="store", name=f"{word.title()} Corner Store",
                        location_id=f"{word.upper()}-STORE-9")
    device, client = device_client(site, name=f"{word.title()} Room Tablet", hardware_id=f"{word}-hw-1")
    _, scanner = device_client(store, kind="scanner", name=f"{word.title()} Till Scanner",
                               hardware_id=f"{word}-hw-2")
    now = timezone.now().isoformat()
    assert client.post("/api/v1/heartbeats/", {"sent_at": now, "firmware": f"{word}-fw"},
                       format="json").status_code == 202
    assert scanner.post("/api/v1/scans/batch/", {"batch_id": str(uuid.uuid4()), "scans": [{
        "scan_id": str(uuid.uuid4()), "scanned_at": now, "birth_year": timezone.now().year - 30, "age": 30,
        "is_underage": False, "is_valid": True, "document_expired": False, "jurisdiction": "US-TX",
        "subject_hash": "b" * 64}]}, format="json").status_code == 202
    assert client.post("/api/v1/telemetry/", {"readings": [{
        "message_id": str(uuid.uuid4()), "metric": f"{word}_power", "value": 1.0, "ts": now}]},
        format="json").status_code == 202
    ruleset_defaults_create(site=site)
    ruleset_defaults_create(site=store)
    TelemetryThreshold.objects.create(tenant=tenant, site=store, metric=f"{word}_metric", operator="gt", value=1)
    QuietHours.objects.create(tenant=tenant, site=site, start=time(22), end=time(7))
    channel = channel_create(tenant=tenant, name=f"{word.title()} Night Desk SMS", kind="sms",
                             target="+351912345678", actor=ACTOR)
    policy_save(tenant=tenant, actor=ACTOR, name=f"{word.title()} Escalation", sites=[site],
                steps=[{"delay_minutes": 0, "channels": [channel]}])
    alert_raise(tenant=tenant, kind="breach", dedup_key=f"{word}-breach", severity="critical",
                summary=f"{word.title()} breach in room 101", source="rule", site=site, device=device)
    setup_token_create(site=store, actor=ACTOR, label=f"{word.title()} till token")
    api_key_create(tenant=tenant, name=f"{word.title()} dashboard key", scopes=["read"], actor=ACTOR)
    member = UserFactory(username=f"{word}-person", email=f"{word}-person@{word}.example")
    membership_set(tenant=tenant, user=member, role=Role.VIEWER, actor=world.owner)
    assert Notification.objects.filter(tenant=tenant).exists()
    return {"word": word, "tenant": tenant, "site": site, "store": store}


@pytest.fixture
def alpha(make_world, device_client):
    world = make_world(name="Alpha Hospitality", slug="alpha-hospitality")
    world.objects = _populate(world, "alpha", device_client)
    return world


@pytest.fixture
def bravo(make_world, device_client):
    world = make_world(name="Bravo Holdings", slug="bravo-holdings")
    world.objects = _populate(world, "bravo", device_client)
    return world


def _client(user) -> Client:
    client = Client()
    assert client.login(username=user.username, password=DEFAULT_PASSWORD)
    return client


def _pages(alpha) -> list[str]:
    """Every changelist and add form, and the change form of one of A's objects per model."""
    urls = []
    for model in admin.site._registry:
        opts = model._meta
        for name in ("changelist", "add"):
            try:
                urls.append(reverse(f"admin:{opts.app_label}_{opts.model_name}_{name}"))
            except NoReverseMatch:
                continue
        fields = {field.name for field in opts.get_fields()}
        own = (model._default_manager.filter(tenant=alpha.tenant).first() if "tenant" in fields
               else alpha.tenant if model is alpha.tenant.__class__ else None)
        if own is not None:
            urls.append(reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[own.pk]))
    return urls


def _leaks(html: str, world) -> list[str]:
    needles = [world.objects["word"], world.tenant.public_id, world.tenant.slug, world.site.public_id,
               world.objects["store"].public_id]
    return [needle for needle in needles if needle.lower() in html.lower()]


@pytest.mark.parametrize("role", ["staff", "admin"])
def test_no_admin_page_shows_another_tenant(alpha, bravo, role):
    client = _client(getattr(alpha, role))
    pages = _pages(alpha)
    assert len(pages) > 40
    rendered = 0
    for url in pages:
        response = client.get(url)
        assert response.status_code in (200, 302, 403), (url, response.status_code)
        html = response.content.decode()
        assert _leaks(html, bravo) == [], url
        rendered += response.status_code == 200
    assert rendered >= 17  # every tenant-scoped changelist at least, as staff too


def test_filter_sidebars_list_own_sites_and_no_tenant_filter_for_one_tenant(alpha, bravo):
    html = _client(alpha.staff).get("/admin/alerts/alert/").content.decode()
    assert "Alpha Harbour Hotel" in html and "Alpha Corner Store" in html  # the site filter, scoped
    assert "By tenant" not in html
    assert "Bravo" not in html


def test_people_of_several_tenants_filter_by_their_tenants_only(alpha, bravo, make_world):
    charlie = make_world(name="Charlie Energy", slug="charlie-energy")
    MembershipFactory(tenant=charlie.tenant, user=alpha.staff, role=Role.STAFF)
    html = _client(alpha.staff).get("/admin/alerts/alert/").content.decode()
    assert "By tenant" in html and "Alpha Hospitality" in html and "Charlie Energy" in html
    assert "Bravo" not in html


def test_superusers_filter_by_every_tenant(alpha, bravo, superuser):
    html = _client(superuser).get("/admin/alerts/alert/").content.decode()
    assert "Bravo Harbour Hotel" in html and "Alpha Harbour Hotel" in html and "By tenant" in html


def test_foreign_filter_values_in_the_url_show_nothing(alpha, bravo):
    response = _client(alpha.admin).get(f"/admin/alerts/alert/?site__id__exact={bravo.site.pk}")
    assert response.status_code == 200
    assert _leaks(response.content.decode(), bravo) == []


def test_autocomplete_answers_with_own_sites_only(alpha, bravo):
    response = _client(alpha.admin).get("/admin/autocomplete/", {
        "app_label": "devices", "model_name": "device", "field_name": "site", "term": ""})
    assert response.status_code in (200, 403)
    assert _leaks(response.content.decode(), bravo) == []


# --- the membership form -----------------------------------------------------------------------------


def test_membership_add_form_lists_no_users(alpha, bravo):
    html = _client(alpha.admin).get("/admin/tenancy/membership/add/").content.decode()
    assert 'name="username"' in html and 'name="user"' not in html
    assert "bravo-person" not in html


def test_admin_adds_an_existing_user_by_username_and_creates_a_new_one(alpha, bravo):
    client = _client(alpha.admin)
    response = client.post("/admin/tenancy/membership/add/", {
        "tenant": alpha.tenant.pk, "username": "bravo-person", "role": "staff", "email": "", "password": "",
        "all_sites": "on"})
    assert response.status_code == 302, response.content.decode()[:2000]
    assert alpha.tenant.memberships.get(user__username="bravo-person").role == "staff"
    response = client.post("/admin/tenancy/membership/add/", {
        "tenant": alpha.tenant.pk, "username": "new-desk", "email": "desk@alpha.example",
        "password": "a-long-enough-passphrase", "role": "viewer", "all_sites": "on"})
    assert response.status_code == 302
    created = alpha.tenant.memberships.get(user__username="new-desk").user
    refused = client.post("/admin/tenancy/membership/add/", {
        "tenant": alpha.tenant.pk, "username": "no spaces allowed", "role": "viewer", "email": "", "password": ""})
    assert refused.status_code == 200 and not alpha.tenant.memberships.filter(user__username__contains=" ").exists()
    assert created.email == "desk@alpha.example" and created.check_password("a-long-enough-passphrase")
    from apps.audit.models import AuditEntry

    assert AuditEntry.objects.filter(tenant=alpha.tenant, action="membership.added",
                                     target_id=str(created.pk)).exists()


def test_admin_cannot_promote_themselves_or_grant_owner(alpha):
    client = _client(alpha.admin)
    own = alpha.tenant.memberships.get(user=alpha.admin)
    form = client.get(f"/admin/tenancy/membership/{own.pk}/change/").content.decode()
    assert 'value="owner"' not in form
    response = client.post(f"/admin/tenancy/membership/{own.pk}/change/", {"role": "owner"})
    assert response.status_code == 200  # redisplayed with the refusal
    own.refresh_from_db()
    assert own.role == "admin"
    response = client.post("/admin/tenancy/membership/add/", {
        "tenant": alpha.tenant.pk, "username": alpha.viewer.username, "role": "owner", "email": "", "password": ""})
    assert response.status_code == 200
    assert alpha.tenant.memberships.get(user=alpha.viewer).role == "viewer"


def test_admin_cannot_demote_or_remove_an_owner(alpha):
    client = _client(alpha.admin)
    owner = alpha.tenant.memberships.get(user=alpha.owner)
    assert client.post(f"/admin/tenancy/membership/{owner.pk}/change/", {"role": "viewer"}).status_code == 200
    assert client.post(f"/admin/tenancy/membership/{owner.pk}/delete/", {"post": "yes"}).status_code == 403
    owner.refresh_from_db()
    assert owner.role == "owner"


def test_admin_removes_a_staff_member_through_the_service(alpha):
    client = _client(alpha.admin)
    staff = alpha.tenant.memberships.get(user=alpha.staff)
    assert client.post(f"/admin/tenancy/membership/{staff.pk}/delete/", {"post": "yes"}).status_code == 302
    from apps.audit.models import AuditEntry

    assert not alpha.tenant.memberships.filter(user=alpha.staff).exists()
    assert AuditEntry.objects.filter(tenant=alpha.tenant, action="membership.removed",
                                     target_id=str(alpha.staff.pk)).exists()
