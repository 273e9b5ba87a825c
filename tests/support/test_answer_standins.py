"""The stand-ins' parts for answering pages: Twilio's Calls API and signed callbacks,
Slack's interactivity signing and response_url, and the Teams workflow."""

from __future__ import annotations

import time

import pytest
import requests
from slack_sdk.signature import SignatureVerifier
from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.request_validator import RequestValidator
from twilio.rest import Client

pytestmark = pytest.mark.standin_contract  # the stand-ins themselves: -m "not standin_contract" skips them


class _Rewriting(TwilioHttpClient):
    def __init__(self, standin):
        super().__init__()
        self.standin = standin

    def request(self, method, url, *args, **kwargs):
        return super().request(method, self.standin.rewrite(url), *args, **kwargs)


def _client(standin) -> Client:
    return Client(standin.account_sid, standin.auth_token, http_client=_Rewriting(standin))


def test_calls_are_placed_and_recorded_apart_from_messages(twilio_standin):
    call = _client(twilio_standin).calls.create(to="+351912345678", from_="+15005550006",
                                                url="https://tocsin.test/hooks/twilio/voice/alr_1/",
                                                status_callback="https://tocsin.test/s", status_callback_event=[
                                                    "completed"])
    assert call.sid.startswith("CA") and call.status == "queued"
    (recorded,) = twilio_standin.wait_for_calls(1)
    assert recorded["url"].endswith("/alr_1/") and recorded["status_callback_event"] == ["completed"]
    assert twilio_standin.messages == []


@pytest.mark.parametrize(("fields", "code"), [({"to": "12"}, 21211), ({"url": None}, 21205)])
def test_calls_are_validated_like_twilio(fields, code, twilio_standin):
    args = {"to": "+351912345678", "from_": "+15005550006", "url": "https://tocsin.test/x", **fields}
    with pytest.raises(TwilioRestException) as caught:
        _client(twilio_standin).calls.create(**{k: v for k, v in args.items() if v is not None})
    assert caught.value.code == code


def test_signed_posts_verify_with_twilios_validator(twilio_standin, webhook_receiver):
    url = webhook_receiver.url("/inbound")
    params = twilio_standin.inbound_params("+351912345678", "1")
    assert RequestValidator(twilio_standin.auth_token).validate(url, params, twilio_standin.sign(url, params))
    assert not RequestValidator(twilio_standin.auth_token).validate(url, params,
                                                                    twilio_standin.sign(url, params, forge=True))


def test_slack_signed_requests_and_response_url(slack_standin):
    payload = slack_standin.block_actions_payload(user_id="U1", action_id="tocsin_acknowledge", value="alr_1")
    body, headers = slack_standin.signed_request("secret", payload)
    verifier = SignatureVerifier("secret")
    assert verifier.is_valid(body, headers["X-Slack-Request-Timestamp"], headers["X-Slack-Signature"])
    stale_body, stale = slack_standin.signed_request("secret", payload, timestamp=int(time.time()) - 400)
    assert not verifier.is_valid(stale_body, stale["X-Slack-Request-Timestamp"], stale["X-Slack-Signature"])
    answer = requests.post(payload["response_url"], json={"text": "done", "replace_original": True}, timeout=5)
    assert answer.status_code == 200 and slack_standin.messages[0]["kind"] == "response_url"
    assert requests.post(payload["response_url"], json={}, timeout=5).status_code == 400


def test_teams_workflow_takes_adaptive_cards_only_with_its_signature(teams_standin):
    card = {"type": "message", "attachments": [{"contentType": "application/vnd.microsoft.card.adaptive",
                                                "content": {"type": "AdaptiveCard", "version": "1.4",
                                                            "body": [{"type": "TextBlock", "text": "hi"}]}}]}
    assert requests.post(teams_standin.workflow_url, json=card, timeout=5).status_code == 202
    assert requests.post(teams_standin.workflow_url, json={"text": "plain"}, timeout=5).status_code == 400
    assert requests.post(teams_standin.workflow_url.replace("sig=", "sig=x"), json=card, timeout=5).status_code == 401
    (posted,) = teams_standin.messages
    assert posted["card"]["body"][0]["text"] == "hi" and "sig" not in posted["query"]
