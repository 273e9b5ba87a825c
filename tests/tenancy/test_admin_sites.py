"""The admin as a Lisbon-only member: no page, sidebar filter or form choice shows Porto.

Every registered admin page (changelists, add forms, and the change form of one Lisbon
object per model) is fetched as Lisbon's staff and admin and searched for "porto" and
Porto's ids; a Porto object's own page is not found, and admin actions skip Porto's rows.
A whole-tenant owner still sees both cities.
"""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.test import Client
from django.urls import NoReverseMatch, reverse

from apps.alerts.models import Alert
from apps.audit.models import AuditEntry
from apps.tenancy.models import Membership, Role
from apps.tenancy.scoping import site_path_for
from tests.factories import DEFAULT_PASSWORD
from tests.support.sites import porto_ids

pytestmark = pytest.mark.django_db


def _client(user) -> Client:
    client = Client()
    assert client.login(username=user.username, password=DEFAULT_PASSWORD)
    return client


def _lisbon_object(model, world):
    """One of Lisbon's rows of `model`, or None for tenant-wide models."""
    path = site_path_for(model)
    if path is None:
        return None
    return model._default_manager.filter(**{path: world.lisbon.pk}).first()


def _pages(world) -> list[str]:
    urls = []
    for model in admin.site._registry:
        opts = model._meta
        for name in ("changelist", "add"):
            try:
                urls.append(reverse(f"admin:{opts.app_label}_{opts.model_name}_{name}"))
            except NoReverseMatch:
                continue
        own = _lisbon_object(model, world)
        if own is not None:
            urls.append(reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[own.pk]))
    return urls


def _porto_leaks(html: str, world) -> list[str]:
    needles = ["porto", *porto_ids(world)]
    return [needle for needle in needles if needle.lower() in html.lower()]


@pytest.mark.parametrize("role", [Role.STAFF, Role.ADMIN])
def test_no_admin_page_shows_a_lisbon_member_anything_of_porto(harbour, role):
    client = _client(harbour.lisbon_member(role))
    pages = _pages(harbour)
    assert len(pages) > 40
    rendered = 0
    for url in pages:
        response = client.get(url)
        assert response.status_code in (200, 302, 403), (url, response.status_code)
        assert _porto_leaks(response.content.decode(), harbour) == [], url
        rendered += response.status_code == 200
    assert rendered >= 15


def test_the_site_filter_and_the_site_choices_list_lisbon_only(harbour):
    staff, admin_user = harbour.lisbon_member(Role.STAFF), harbour.lisbon_member(Role.ADMIN)
    for url in ("/admin/alerts/alert/", "/admin/devices/device/", "/admin/ingest/scan/",
                "/admin/devices/setuptoken/"):
        html = _client(staff).get(url).content.decode()
        assert "Lisbon Harbour Hotel" in html, url
        assert "Porto" not in html and "By tenant" not in html, url
    add_token = _client(admin_user).get("/admin/devices/setuptoken/add/").content.decode()
    assert "Lisbon Harbour Hotel" in add_token and "Porto" not in add_token
    device = harbour.objects["lisbon"]["device"]
    change_device = _client(admin_user).get(f"/admin/devices/device/{device.pk}/change/").content.decode()
    assert "Lisbon Harbour Hotel" in change_device and "Porto" not in change_device
    whole = _client(harbour.owner).get("/admin/alerts/alert/").content.decode()
    assert "Lisbon Harbour Hotel" in whole and "Porto Riverside Hotel" in whole


def test_a_porto_object_is_not_found_and_a_porto_filter_value_shows_nothing(harbour):
    client = _client(harbour.lisbon_member(Role.ADMIN))
    porto = harbour.objects["porto"]
    for obj in (porto["alert"], porto["device"], porto["token"], harbour.porto, porto["notification"]):
        opts = obj._meta
        response = client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk]))
        assert response.status_code in (302, 404), opts.model_name
        assert _porto_leaks(response.content.decode(), harbour) == []
    listing = client.get(f"/admin/alerts/alert/?site__id__exact={harbour.porto.pk}").content.decode()
    assert _porto_leaks(listing, harbour) == []


def test_admin_actions_skip_porto_alerts(harbour):
    porto_alert = harbour.objects["porto"]["alert"]
    lisbon_alert = harbour.objects["lisbon"]["alert"]
    client = _client(harbour.lisbon_member(Role.STAFF))
    client.post("/admin/alerts/alert/", {"action": "acknowledge_selected",
                                         "_selected_action": [porto_alert.pk, lisbon_alert.pk]})
    assert Alert.objects.get(pk=porto_alert.pk).status == "triggered"
    assert Alert.objects.get(pk=lisbon_alert.pk).status == "acknowledged"


def test_lisbon_admin_adds_members_for_lisbon_only(harbour):
    client = _client(harbour.lisbon_member(Role.ADMIN))
    listing = client.get("/admin/tenancy/membership/").content.decode()
    assert "lisbon-staff" in listing and "harbour-owner" not in listing and "porto-viewer" not in listing
    form = client.get("/admin/tenancy/membership/add/").content.decode()
    assert "Lisbon Harbour Hotel" in form and "Porto" not in form
    base = {"tenant": harbour.tenant.pk, "role": "staff", "email": "", "password": ""}
    refused = client.post("/admin/tenancy/membership/add/", {**base, "username": "night-1",
                                                              "sites": [harbour.porto.pk]})
    assert refused.status_code == 200
    everywhere = client.post("/admin/tenancy/membership/add/", {**base, "username": "night-2", "all_sites": "on"})
    assert everywhere.status_code == 200 and "only sites you cover" in everywhere.content.decode()
    added = client.post("/admin/tenancy/membership/add/", {**base, "username": "night-3",
                                                            "sites": [harbour.lisbon.pk]})
    assert added.status_code == 302, added.content.decode()[:1500]
    membership = Membership.objects.get(tenant=harbour.tenant, user__username="night-3")
    assert not membership.all_sites and list(membership.sites.all()) == [harbour.lisbon]
    assert not Membership.objects.filter(user__username__in=["night-1", "night-2"]).exists()
    entry = AuditEntry.objects.filter(tenant=harbour.tenant, action="membership.added",
                                      target_id=str(membership.user_id)).get()
    assert entry.details["all_sites"] is False and entry.details["sites"] == [harbour.lisbon.public_id]


def test_a_whole_tenant_admin_limits_a_member_to_porto_in_the_admin(harbour):
    client = _client(harbour.owner)
    staff = Membership.objects.get(tenant=harbour.tenant, user=harbour.lisbon_member(Role.STAFF))
    response = client.post(f"/admin/tenancy/membership/{staff.pk}/change/", {"role": "staff",
                                                                             "sites": [harbour.porto.pk]})
    assert response.status_code == 302, response.content.decode()[:1500]
    staff.refresh_from_db()
    assert not staff.all_sites and list(staff.sites.all()) == [harbour.porto]
    assert AuditEntry.objects.filter(tenant=harbour.tenant, action="membership.changed",
                                     target_id=str(staff.user_id)).exists()


def test_a_lisbon_admin_holds_lisbon_but_not_the_whole_tenant(harbour):
    from apps.tenancy.models import LegalHold

    client = _client(harbour.lisbon_member(Role.ADMIN))
    whole = client.post("/admin/tenancy/legalhold/add/", {"tenant": harbour.tenant.pk, "site": "",
                                                          "reason": "whole-tenant inquiry"})
    assert whole.status_code == 200 and "Choose one of your sites" in whole.content.decode()
    porto = client.post("/admin/tenancy/legalhold/add/", {"tenant": harbour.tenant.pk, "site": harbour.porto.pk,
                                                          "reason": "porto inquiry 2"})
    assert porto.status_code == 200
    lisbon = client.post("/admin/tenancy/legalhold/add/", {"tenant": harbour.tenant.pk, "site": harbour.lisbon.pk,
                                                           "reason": "lisbon inquiry 2"})
    assert lisbon.status_code == 302, lisbon.content.decode()[:1500]
    assert set(LegalHold.objects.filter(reason__endswith="inquiry 2").values_list("site", flat=True)) == {
        harbour.lisbon.pk}
    assert not LegalHold.objects.filter(reason="whole-tenant inquiry").exists()


def test_tenant_wide_pages_are_not_offered_to_site_scoped_members(harbour):
    client = _client(harbour.lisbon_member(Role.ADMIN))
    for url in ("/admin/notifications/channel/", "/admin/notifications/escalationpolicy/",
                "/admin/devices/apikey/", "/admin/audit/auditentry/", "/admin/devices/apikey/add/"):
        assert client.get(url).status_code == 403, url
    index = client.get("/admin/").content.decode()
    assert "Memberships" in index and "Alerts" in index and "Channels" not in index and "Audit entries" not in index
    assert _client(harbour.owner).get("/admin/notifications/channel/").status_code == 200
