"""Microsoft Teams channels: an Adaptive Card to a workflow's webhook URL (kept secret)."""

from __future__ import annotations

import pytest

from apps.common.errors import ApplicationError
from apps.notifications.channels import channel_create
from apps.notifications.models import Notification
from tests.support.actors import ACTOR
from tests.support.answering import PUBLIC, policy, send_pages

pytestmark = pytest.mark.django_db


def _teams(world, url):
    return channel_create(tenant=world.tenant, name="Ops in Teams", kind="teams", target="Operations › Alerts",
                          secret=url, actor=ACTOR)


def test_a_teams_channel_posts_an_adaptive_card_linking_to_the_alert(world_a, make_policy, raise_alert,
                                                                      teams_standin):
    channel = _teams(world_a, teams_standin.workflow_url)
    policy(world_a, [(0, [channel])])
    alert = raise_alert(world_a)
    (row,) = send_pages(alert)
    assert row.status == "sent" and row.provider == "teams"
    (posted,) = teams_standin.messages
    card = posted["card"]
    assert card["type"] == "AdaptiveCard" and card["body"][0]["text"].startswith("[Tocsin] CRITICAL")
    assert card["actions"] == [{"type": "Action.OpenUrl", "title": "Open in Tocsin",
                                "url": f"{PUBLIC}/board/?alert={alert.public_id}"}]


@pytest.mark.parametrize(("failure", "status"), [({"status": 503}, "pending"), ({"status": 404}, "failed")])
def test_teams_failures_are_classified(failure, status, world_a, make_policy, raise_alert, teams_standin):
    policy(world_a, [(0, [_teams(world_a, teams_standin.workflow_url)])])
    teams_standin.fail_next(1, "status", **failure)
    alert = raise_alert(world_a)
    send_pages(alert)
    assert Notification.objects.get(alert=alert).status == status


def test_a_wrong_workflow_signature_fails_permanently(world_a, make_policy, raise_alert, teams_standin):
    policy(world_a, [(0, [_teams(world_a, teams_standin.workflow_url.replace("sig=", "sig=x"))])])
    alert = raise_alert(world_a)
    send_pages(alert)
    assert (Notification.objects.get(alert=alert).status, teams_standin.messages) == ("failed", [])


def test_the_workflow_url_is_required_and_kept_secret(world_a, client_for, teams_standin):
    with pytest.raises(ApplicationError):
        _teams(world_a, "")
    response = client_for(world_a.admin).post("/api/v1/channels/", {
        "name": "Teams", "kind": "teams", "target": "Ops › Alerts", "secret": teams_standin.workflow_url},
        format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["has_secret"] is True and "sig=" not in response.content.decode()


def test_an_internal_workflow_url_is_refused(world_a, settings):
    settings.TOCSIN_ALLOW_PRIVATE_TARGETS = False
    with pytest.raises(ApplicationError) as caught:
        _teams(world_a, "http://127.0.0.1:9/workflows/x")
    assert "secret" in caught.value.fields


def test_tenant_admins_add_teams_and_voice_channels_in_the_admin_and_viewers_cannot(world_a, client,
                                                                                   teams_standin):
    from apps.notifications.models import Channel

    form = {"tenant": world_a.tenant.pk, "name": "Teams", "kind": "teams", "target": "Ops › Alerts",
            "secret": teams_standin.workflow_url, "enabled": "on"}
    client.force_login(world_a.viewer)
    assert client.post("/admin/notifications/channel/add/", form).status_code == 403
    client.force_login(world_a.admin)
    assert client.post("/admin/notifications/channel/add/", {**form, "secret": ""}).status_code == 200  # the error
    assert client.post("/admin/notifications/channel/add/", form).status_code == 302
    voice = {**form, "name": "Night phone", "kind": "voice", "target": "+351912345601", "secret": ""}
    assert client.post("/admin/notifications/channel/add/", voice).status_code == 302
    assert set(Channel.objects.filter(tenant=world_a.tenant, personal=False, kind__in=["teams", "voice"])
               .values_list("kind", "target")) == {("teams", "Ops › Alerts"), ("voice", "+351912345601")}
    assert Channel.objects.get(kind="teams").secret == teams_standin.workflow_url
