"""Sites API: roles per action, tenant isolation, validation, one error shape."""

from __future__ import annotations

import pytest

from tests.factories import MembershipFactory, SiteFactory, TenantFactory

pytestmark = pytest.mark.django_db

SITES = "/api/v1/sites/"


def test_staff_lists_only_their_tenants_sites(world_a, world_b, client_for):
    response = client_for(world_a.staff).get(SITES)
    assert response.status_code == 200
    ids = {site["id"] for site in response.json()}
    assert ids == {world_a.site.public_id}


def test_foreign_site_id_answers_404_for_every_method(world_a, world_b, client_for):
    foreign = f"{SITES}{world_b.site.public_id}/"
    for user in (world_a.admin, world_a.owner):
        client = client_for(user)
        assert client.get(foreign).status_code == 404
        assert client.patch(foreign, {"name": "x"}, format="json").status_code == 404
        assert client.delete(foreign).status_code == 404
    world_b.site.refresh_from_db()
    assert world_b.site.name != "x"


def test_staff_write_is_refused_the_same_for_own_and_foreign_ids(world_a, world_b, client_for):
    """The role check comes first, so a refusal reveals nothing about which ids exist."""
    client = client_for(world_a.staff)
    assert client.get(f"{SITES}{world_b.site.public_id}/").status_code == 404
    for site in (world_a.site, world_b.site):
        assert client.patch(f"{SITES}{site.public_id}/", {"name": "x"}, format="json").status_code == 403


def test_404_body_says_nothing_about_the_foreign_object(world_a, world_b, client_for):
    body = client_for(world_a.admin).get(f"{SITES}{world_b.site.public_id}/").json()
    assert body == {"error": {"code": "not_found", "message": "Not found.", "fields": None}}


def test_admin_creates_site_and_staff_cannot(world_a, client_for):
    payload = {"name": "Room wing", "location_id": "WING-2", "kind": "hotel", "timezone": "Europe/Lisbon"}
    assert client_for(world_a.staff).post(SITES, payload, format="json").status_code == 403
    assert client_for(world_a.viewer).post(SITES, payload, format="json").status_code == 403
    response = client_for(world_a.admin).post(SITES, payload, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["id"].startswith("site_")


def test_duplicate_location_id_is_a_conflict_not_a_500(world_a, client_for):
    payload = {"name": "Twin", "location_id": world_a.site.location_id, "kind": "hotel"}
    response = client_for(world_a.admin).post(SITES, payload, format="json")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "conflict"


def test_same_location_id_in_another_tenant_is_fine(world_a, world_b, client_for):
    payload = {"name": "Same code", "location_id": world_a.site.location_id, "kind": "store"}
    assert client_for(world_b.admin).post(SITES, payload, format="json").status_code == 201


@pytest.mark.parametrize(
    "payload, field",
    [
        ({"name": "x", "location_id": "A1", "kind": "castle"}, "kind"),
        ({"name": "x", "location_id": "A1", "kind": "hotel", "timezone": "Mars/Olympus"}, "timezone"),
        ({"name": "x", "location_id": "bad id!", "kind": "hotel"}, "location_id"),
        ({"name": "x", "location_id": "A1", "kind": "hotel", "business_hours": {"9": []}}, "business_hours"),
        ({"name": "x", "location_id": "A1", "kind": "hotel",
          "business_hours": {"1": [["17:00", "09:00"]]}}, "business_hours"),
    ],
)
def test_invalid_site_bodies_get_field_errors(world_a, client_for, payload, field):
    response = client_for(world_a.admin).post(SITES, payload, format="json")
    assert response.status_code == 400
    body = response.json()["error"]
    assert body["code"] == "invalid"
    assert field in body["fields"]


def test_malformed_json_is_a_400(world_a, client_for):
    response = client_for(world_a.admin).post(SITES, "{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "parse_error"


def test_multi_tenant_user_must_pick_and_can_switch(db, client_for):
    tenant_one, tenant_two = TenantFactory(), TenantFactory()
    site_one, site_two = SiteFactory(tenant=tenant_one), SiteFactory(tenant=tenant_two)
    user = MembershipFactory(tenant=tenant_one).user
    MembershipFactory(tenant=tenant_two, user=user)
    client = client_for(user)

    response = client.get(SITES)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "tenant_required"

    listed_one = client.get(SITES, HTTP_X_TENANT=tenant_one.public_id).json()
    listed_two = client.get(SITES, HTTP_X_TENANT=tenant_two.slug).json()
    assert [s["id"] for s in listed_one] == [site_one.public_id]
    assert [s["id"] for s in listed_two] == [site_two.public_id]


def test_naming_a_tenant_you_dont_belong_to_is_404(world_a, world_b, client_for):
    response = client_for(world_a.staff).get(SITES, HTTP_X_TENANT=world_b.tenant.public_id)
    assert response.status_code == 404
    response = client_for(world_a.staff).get(SITES, HTTP_X_TENANT="no-such-tenant")
    assert response.status_code == 404


def test_superuser_acts_for_any_named_tenant(world_a, world_b, superuser, client_for):
    response = client_for(superuser).get(SITES, HTTP_X_TENANT=world_b.tenant.slug)
    assert [s["id"] for s in response.json()] == [world_b.site.public_id]


def test_anonymous_gets_401_in_the_one_error_shape(world_a, api_client):
    response = api_client.get(SITES)
    assert response.status_code == 401
    assert response.json()["error"]["message"] == "Authentication required."
