"""SSRF, as a tenant admin would try it: webhook targets and Slack webhook secrets that
point inside are refused when the channel is saved, refused again when a delivery
connects (DNS rebinding), redirects are never followed, and the test endpoint gives one
answer for every way of not reaching a destination.

Loopback cases run end to end against servers of this test on 127.0.0.1; every other
internal address goes through a faked resolver, and a tripwire stops any connection off
loopback, so no test sends a packet off this machine even if the guard were broken.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from apps.common.netguard import DestinationRefused
from apps.notifications.delivery import deliver
from apps.notifications.messages import Message
from apps.notifications.models import Channel, Notification
from apps.notifications.providers.base import DESTINATION_REFUSED, PermanentError
from apps.notifications.providers.slack import SlackProvider
from apps.notifications.providers.webhook import WebhookProvider

pytestmark = pytest.mark.django_db

MESSAGE = Message(subject="[Tocsin] test", text="CRITICAL: breach", data={"alert_id": "alr_x"})
SECRET = "s" * 24


@pytest.fixture
def guard_on(settings):
    settings.TOCSIN_ALLOW_PRIVATE_TARGETS = False


@pytest.fixture
def redirector():
    """A server on 127.0.0.1 answering every POST with a redirect to `location`."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 (http.server's name)
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.server.hits += 1
            self.send_response(self.server.status)
            self.send_header("Location", self.server.location)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.hits, server.status, server.location = 0, 302, ""
    server.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _create(client, **body):
    return client.post("/api/v1/channels/", {"name": "Hook", "kind": "webhook", "secret": SECRET, **body},
                       format="json")


# --- refused when the channel is saved ---------------------------------------------------------

@pytest.mark.parametrize("host", ["127.0.0.1", "[::1]", "localhost", "127.1.2.3"])
def test_loopback_webhook_targets_are_refused_at_create(world_a, client_for, guard_on, webhook_receiver, host):
    response = _create(client_for(world_a.admin), target=f"http://{host}:{webhook_receiver.port}/hook")
    assert response.status_code == 400, response.content
    assert list(response.json()["error"]["fields"]) == ["target"]
    assert "private or local address" in response.json()["error"]["fields"]["target"][0]
    assert webhook_receiver.messages == []


@pytest.mark.parametrize("address", ["10.0.0.1", "169.254.169.254", "fd00::1", "224.0.0.1", "0.0.0.0",  # noqa: S104
                                     "172.16.0.9", "192.168.0.1", "100.64.0.1", "::ffff:10.0.0.1", "fe80::1"])
def test_names_resolving_inside_are_refused_at_create_and_update(world_a, client_for, guard_on, fake_dns, tripwire,
                                                                 address):
    client = client_for(world_a.admin)
    fake_dns.set("hooks.tenant.example", address)
    response = _create(client, target="https://hooks.tenant.example/in")
    assert response.status_code == 400 and "target" in response.json()["error"]["fields"]
    fake_dns.set("public.tenant.example", "93.184.216.34")
    created = _create(client, target="https://public.tenant.example/in")
    assert created.status_code == 201, created.content
    update = client.patch(f"/api/v1/channels/{created.json()['id']}/", {"target": "https://hooks.tenant.example/x"},
                          format="json")
    assert update.status_code == 400 and "target" in update.json()["error"]["fields"]
    assert tripwire.outside == []


@pytest.mark.parametrize("secret", ["http://127.0.0.1:9/services/T/B/x", "https://[::1]/services/x",
                                    "http://169.254.169.254/latest/meta-data/"])
def test_slack_webhook_secrets_pointing_inside_are_refused(world_a, client_for, guard_on, tripwire, secret):
    client = client_for(world_a.admin)
    response = client.post("/api/v1/channels/", {"name": "Slack", "kind": "slack", "target": "C0SECURITY",
                                                 "secret": secret}, format="json")
    assert response.status_code == 400 and list(response.json()["error"]["fields"]) == ["secret"]
    created = client.post("/api/v1/channels/", {"name": "Slack", "kind": "slack", "target": "C0SECURITY",
                                                "secret": "xoxb-a-bot-token"}, format="json")
    update = client.patch(f"/api/v1/channels/{created.json()['id']}/", {"secret": secret}, format="json")
    assert update.status_code == 400 and list(update.json()["error"]["fields"]) == ["secret"]
    assert tripwire.outside == []


@pytest.mark.parametrize("kind, target, secret, field", [
    ("webhook", "http://127.0.0.1:9/hook", SECRET, "target"),
    ("webhook", "http://169.254.169.254/latest/meta-data/", SECRET, "target"),
    ("slack", "C0SECURITY", "http://[::1]:9/services/T/B/x", "secret"),
])
def test_the_admin_refuses_internal_destinations_too(world_a, guard_on, tripwire, kind, target, secret, field):
    from django.test import Client

    from tests.factories import DEFAULT_PASSWORD

    client = Client()
    assert client.login(username=world_a.admin.username, password=DEFAULT_PASSWORD)
    response = client.post("/admin/notifications/channel/add/", {
        "tenant": world_a.tenant.pk, "name": "Inside", "kind": kind, "target": target, "secret": secret,
        "enabled": "on"})
    assert response.status_code == 200  # the form again, with the error
    assert "private or local address" in response.context["adminform"].form.errors[field][0]
    assert not Channel.objects.filter(name="Inside").exists() and tripwire.outside == []


# --- refused again when a delivery connects ----------------------------------------------------

@pytest.mark.parametrize("host", ["127.0.0.1", "[::1]", "localhost"])
def test_a_saved_loopback_webhook_is_refused_when_sending(world_a, make_channel, settings, webhook_receiver, host):
    """Saved while the development allowance was on (or before this guard existed)."""
    channel = make_channel(world_a, "webhook", target=f"http://{host}:{webhook_receiver.port}/hook",
                           secret=webhook_receiver.secret)
    settings.TOCSIN_ALLOW_PRIVATE_TARGETS = False
    with pytest.raises(PermanentError) as failure:
        WebhookProvider().send(channel, MESSAGE)
    assert failure.value.code == DESTINATION_REFUSED
    assert webhook_receiver.messages == []


@pytest.mark.parametrize("address", ["127.0.0.1", "10.0.0.1", "169.254.169.254", "fd00::1", "::ffff:127.0.0.1"])
def test_dns_rebinding_after_the_channel_was_saved_is_refused(world_a, make_channel, settings, fake_dns, tripwire,
                                                              webhook_receiver, address):
    settings.TOCSIN_ALLOW_PRIVATE_TARGETS = False
    fake_dns.set("rebind.tenant.example", "93.184.216.34")
    channel = make_channel(world_a, "webhook", target=f"http://rebind.tenant.example:{webhook_receiver.port}/hook")
    fake_dns.set("rebind.tenant.example", address)
    with pytest.raises(PermanentError) as failure:
        WebhookProvider().send(channel, MESSAGE)
    assert failure.value.code == DESTINATION_REFUSED
    assert tripwire.outside == [] and webhook_receiver.messages == []


def test_slack_incoming_webhook_and_api_base_inside_are_refused_when_sending(
        world_a, make_channel, settings, real_providers, slack_standin, fake_dns, tripwire):
    channel = make_channel(world_a, "slack", secret=slack_standin.webhook_url)
    settings.TOCSIN_ALLOW_PRIVATE_TARGETS = False
    with pytest.raises(PermanentError) as failure:
        SlackProvider().send(channel, MESSAGE)
    assert failure.value.code == DESTINATION_REFUSED
    bot = make_channel(world_a, "slack", name="bot")  # the platform token, SLACK_API_BASE_URL on 127.0.0.1
    with pytest.raises(PermanentError) as failure:
        SlackProvider().send(bot, MESSAGE)
    assert failure.value.code == DESTINATION_REFUSED
    fake_dns.set("slack.internal.example", "169.254.169.254")
    settings.SLACK_API_BASE_URL = "https://slack.internal.example/api/"
    with pytest.raises(PermanentError):
        SlackProvider().send(bot, MESSAGE)
    assert slack_standin.messages == [] and tripwire.outside == []


def test_a_delivery_to_an_internal_destination_fails_at_once_and_is_not_retried(
        world_a, make_channel, make_policy, raise_alert, settings, fake_dns, tripwire, webhook_receiver):
    fake_dns.set("hooks.tenant.example", "93.184.216.34")
    channel = make_channel(world_a, "webhook", target="https://hooks.tenant.example/in")
    settings.TOCSIN_ALLOW_PRIVATE_TARGETS = False
    make_policy(world_a, [(0, [channel])])
    fake_dns.set("hooks.tenant.example", "169.254.169.254")
    row = Notification.objects.get(alert=raise_alert(world_a))
    outcome = deliver(row.pk)
    row.refresh_from_db()
    assert outcome.status == "failed" and row.status == "failed" and row.attempts == 1
    assert "169.254" not in row.last_error
    assert tripwire.outside == []


# --- redirects are answered, never followed ----------------------------------------------------

@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_webhook_redirects_are_not_followed(world_a, make_channel, redirector, webhook_receiver, status):
    """Even with the development allowance on, a redirect (here to another loopback server)
    is a refusal of the destination, not a hop to wherever it points."""
    redirector.status, redirector.location = status, webhook_receiver.url("/stolen")
    channel = make_channel(world_a, "webhook", target=redirector.url, secret=webhook_receiver.secret)
    with pytest.raises(PermanentError) as failure:
        WebhookProvider().send(channel, MESSAGE)
    assert failure.value.code == str(status)
    assert redirector.hits == 1 and webhook_receiver.messages == []


@pytest.mark.parametrize("status", [302, 307])
def test_slack_webhook_redirects_are_not_followed(world_a, make_channel, redirector, slack_standin, status):
    redirector.status, redirector.location = status, slack_standin.webhook_url
    channel = make_channel(world_a, "slack", secret=redirector.url)
    with pytest.raises(PermanentError) as failure:
        SlackProvider().send(channel, MESSAGE)
    assert failure.value.code == str(status)
    assert redirector.hits == 1 and slack_standin.messages == []


def test_slack_api_redirects_are_not_followed(world_a, make_channel, real_providers, settings, redirector,
                                              slack_standin):
    redirector.location = slack_standin.api_url + "chat.postMessage"
    settings.SLACK_API_BASE_URL = redirector.url.rsplit("/", 1)[0] + "/api/"
    with pytest.raises(PermanentError):  # the SDK reports the 302's empty body as "not JSON"
        SlackProvider().send(make_channel(world_a, "slack"), MESSAGE)
    assert redirector.hits == 1 and slack_standin.messages == []


def test_a_redirect_to_loopback_is_refused_end_to_end(world_a, client_for, make_channel, settings, fake_dns,
                                                      tripwire, redirector, webhook_receiver):
    """The whole chain with the guard on: the redirector itself is on loopback, so the
    first hop is refused; and a name pointing at it is refused too."""
    redirector.location = webhook_receiver.url("/stolen")
    channel = make_channel(world_a, "webhook", target=redirector.url, secret=webhook_receiver.secret)
    settings.TOCSIN_ALLOW_PRIVATE_TARGETS = False
    response = client_for(world_a.admin).post(f"/api/v1/channels/{channel.public_id}/test/")
    assert response.status_code == 502 and response.json()["code"] == "unreachable"
    fake_dns.set("redirect.tenant.example", "127.0.0.1")
    assert _create(client_for(world_a.admin), target=f"http://redirect.tenant.example:{redirector.server_address[1]}/"
                   ).status_code == 400
    assert redirector.hits == 0 and webhook_receiver.messages == [] and tripwire.outside == []


# --- the test endpoint is not a port scanner -------------------------------------------------

def test_the_test_endpoint_answers_the_same_for_a_refused_address_and_a_closed_port(
        world_a, client_for, make_channel, settings, fake_dns, tripwire, webhook_receiver):
    client = client_for(world_a.admin)
    closed_port = make_channel(world_a, "webhook", target="http://127.0.0.1:9/hook", name="closed")
    fake_dns.set("metadata.tenant.example", "169.254.169.254")
    metadata = make_channel(world_a, "webhook", target="http://metadata.tenant.example/latest", name="metadata")
    listening = make_channel(world_a, "webhook", target=webhook_receiver.url(), secret=webhook_receiver.secret,
                             name="listening")
    answers = {}
    for allowed, channels in ((True, (closed_port,)), (False, (closed_port, metadata, listening))):
        settings.TOCSIN_ALLOW_PRIVATE_TARGETS = allowed
        for channel in channels:
            response = client.post(f"/api/v1/channels/{channel.public_id}/test/")
            answers[(allowed, channel.name)] = (response.status_code, response.json())
    assert len({repr(answer) for answer in answers.values()}) == 1, answers
    status, body = next(iter(answers.values()))
    assert status == 502 and body["code"] == "unreachable" and body["error"] == "The destination could not be reached."
    assert "169.254" not in repr(answers) and "127.0.0.1" not in repr(answers)
    assert webhook_receiver.messages == [] and tripwire.outside == []


def test_refusal_is_not_an_os_error_so_no_client_retries_it():
    assert not issubclass(DestinationRefused, OSError)
