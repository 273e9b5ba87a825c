"""The endpoints that answers to pages arrive at (apps.responses) take anything from outside
with a clear 4xx, never a 500: unsigned, oversize, malformed, or signed but absurd."""

from __future__ import annotations

import json
import time
from urllib.parse import urlencode

import pytest
from slack_sdk.signature import SignatureVerifier
from twilio.request_validator import RequestValidator

pytestmark = pytest.mark.django_db
TOKEN = "t" * 32
SLACK = "s" * 32
TWILIO_PATHS = ["/hooks/twilio/inbound/", "/hooks/twilio/voice/status/", "/hooks/twilio/voice/alr_x/",
                "/hooks/twilio/voice/alr_x/gather/"]
ALL_PATHS = [*TWILIO_PATHS, "/hooks/slack/interactivity/"]


@pytest.fixture(autouse=True)
def _secrets(settings):
    settings.TWILIO_AUTH_TOKEN = TOKEN
    settings.SLACK_SIGNING_SECRET = SLACK


def _form(client, path, body, **headers):
    return client.generic("POST", path, body, content_type="application/x-www-form-urlencoded", **headers)


@pytest.mark.parametrize("path", ALL_PATHS)
def test_unsigned_is_403_oversize_413_and_malformed_bodies_4xx(path, client):
    assert _form(client, path, "a=b").status_code == 403
    assert _form(client, path, "Pad=" + "x" * (1024 * 1024 + 10)).status_code == 413
    assert _form(client, path, "&".join(f"f{i}=v" for i in range(1001))).status_code in (400, 403)
    assert _form(client, path, "Body=1%00").status_code in (400, 403)
    broken = client.generic("POST", path, b"--x\r\nbroken", content_type="multipart/form-data; boundary=")
    assert broken.status_code in (400, 403)
    assert client.get(path).status_code == 405


def _signed_twilio(client, settings, path, params):
    url = f"{settings.TOCSIN_PUBLIC_BASE_URL.rstrip('/')}{path}"
    signature = RequestValidator(TOKEN).compute_signature(url, params)
    return client.post(path, params, HTTP_X_TWILIO_SIGNATURE=signature)


@pytest.mark.parametrize("params", [
    {"MessageSid": "SM1", "From": "not a number", "Body": "1"},
    {"MessageSid": "SM1", "From": "+" + "9" * 40, "Body": "1 " + "Z" * 5000},
    {"MessageSid": "SM1", "From": "+351912345678", "Body": "1 K7Q\u202e"},
    {"CallSid": "CA" + "x" * 10, "CallStatus": "no-answer" * 50, "To": "x" * 500, "Digits": "9" * 200},
])
@pytest.mark.parametrize("path", [*TWILIO_PATHS, "/hooks/twilio/voice/" + "alr_" + "y" * 300 + "/gather/"])
def test_signed_but_absurd_twilio_requests_are_answered(path, params, client, settings):
    response = _signed_twilio(client, settings, path, params)
    assert response.status_code in (200, 204, 400), response.content[:300]


@pytest.mark.parametrize("payload", ["[" * 200000, json.dumps({"type": "block_actions", "actions": [{}] * 500}),
                                     json.dumps({"type": "block_actions", "user": {"id": ["U1"]}, "actions": [
                                         {"action_id": "tocsin_acknowledge", "value": {"x": 1}}]}),
                                     "\x00" * 10])
def test_signed_but_absurd_slack_payloads_are_answered(payload, client):
    body = urlencode({"payload": payload}).encode()
    stamp = str(int(time.time()))
    signature = SignatureVerifier(SLACK).generate_signature(timestamp=stamp, body=body)
    response = _form(client, "/hooks/slack/interactivity/", body, HTTP_X_SLACK_REQUEST_TIMESTAMP=stamp,
                     HTTP_X_SLACK_SIGNATURE=signature)
    assert response.status_code in (200, 400)


@pytest.mark.parametrize("token", ["x" * 1000, "a:b:c", "%00", "..%2F..%2Fadmin", "eyJ" + "A" * 300 + ":1:x"])
def test_email_links_that_are_not_ours_are_404_or_400(token, client):
    for method in ("get", "post"):
        assert getattr(client, method)(f"/respond/email/{token}/").status_code in (400, 404)
    assert client.put("/respond/email/abc/").status_code == 405
