"""The stand-ins answer like the real providers when driven by the real SDKs and clients."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import http.client
import json
import re
import smtplib
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
import slack_sdk
from django.core.mail import EmailMessage
from django.core.mail.backends.smtp import EmailBackend
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler
from slack_sdk.webhook import WebhookClient
from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.request_validator import RequestValidator
from twilio.rest import Client as TwilioClient

from tests.support.standins import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    SlackStandIn,
    SmtpStandIn,
    TwilioStandIn,
    WebhookReceiver,
    sign,
)

pytestmark = pytest.mark.standin_contract  # the stand-ins themselves: -m "not standin_contract" skips them

TO, FROM = "+15551230001", "+15559870000"


# ---------------------------------------------------------------------------------------
# Twilio
# ---------------------------------------------------------------------------------------


class RedirectingTwilioHttpClient(TwilioHttpClient):
    """twilio-python's own HTTP client, with api.twilio.com rewritten to a stand-in.

    twilio's exceptions carry no headers, so the last response is kept (per thread) in
    ``last_response``: ``last_response.headers["Retry-After"]`` after a 429.
    """

    PREFIX = "https://api.twilio.com"

    def __init__(self, base_url: str, timeout: float | None = None) -> None:
        super().__init__(timeout=timeout)
        self.base_url = base_url.rstrip("/")
        self._local = threading.local()

    @property
    def last_response(self):
        return getattr(self._local, "response", None)

    def request(self, method, url, *args, **kwargs):
        if url.startswith(self.PREFIX):
            url = self.base_url + url[len(self.PREFIX):]
        response = super().request(method, url, *args, **kwargs)
        self._local.response = response
        return response


def twilio_client(standin: TwilioStandIn, timeout: float = 2, token: str | None = None) -> TwilioClient:
    http = RedirectingTwilioHttpClient(standin.base_url, timeout=timeout)
    return TwilioClient(standin.account_sid, token or standin.auth_token, http_client=http)


def send_sms(client: TwilioClient, **kw):
    return client.messages.create(**{"to": TO, "from_": FROM, "body": "Room 101 breach", **kw})


def test_twilio_create_message_answers_like_the_messages_api(twilio_standin):
    client = twilio_client(twilio_standin)
    message = send_sms(client, status_callback="https://tocsin.test/hooks/twilio/status")

    assert re.fullmatch(r"SM[0-9a-f]{32}", message.sid)
    assert (message.status, message.to, message.from_, message.body) == ("queued", TO, FROM, "Room 101 breach")
    assert message.error_code is None and message.num_segments == "1"
    assert message.account_sid == twilio_standin.account_sid
    assert message.date_created.tzinfo is not None  # parsed from RFC 2822 by the SDK
    assert message.uri == f"/2010-04-01/Accounts/{twilio_standin.account_sid}/Messages/{message.sid}.json"

    [recorded] = twilio_standin.wait_for(1)
    assert {k: recorded[k] for k in ("to", "from", "body", "status_callback", "sid")} == {
        "to": TO, "from": FROM, "body": "Room 101 breach",
        "status_callback": "https://tocsin.test/hooks/twilio/status", "sid": message.sid,
    }
    assert recorded["at"] <= time.time()
    assert twilio_standin.requests == 1


def test_twilio_raw_http_shape(twilio_standin):
    url = f"{twilio_standin.base_url}/2010-04-01/Accounts/{twilio_standin.account_sid}/Messages.json"
    body = "⚠" * 71  # not GSM-7, so UCS-2: 70 chars in a single segment, 67 per part
    response = requests.post(url, data={"To": TO, "From": FROM, "Body": body},
                             auth=(twilio_standin.account_sid, twilio_standin.auth_token), timeout=2)
    assert response.status_code == 201
    assert response.headers["Content-Type"].startswith("application/json")
    payload = response.json()
    assert payload["num_segments"] == "2" and payload["direction"] == "outbound-api"
    assert payload["date_created"].endswith("+0000")


def test_twilio_messaging_service_is_accepted_without_from(twilio_standin):
    message = twilio_client(twilio_standin).messages.create(
        to=TO, messaging_service_sid="MG" + "1" * 32, body="hello")
    assert message.status == "accepted" and message.from_ is None
    assert twilio_standin.messages[0]["messaging_service_sid"] == "MG" + "1" * 32


@pytest.mark.parametrize("token", ["wrong-token", None])
def test_twilio_bad_credentials_are_401_authenticate(twilio_standin, token):
    client = twilio_client(twilio_standin, token=token or "x")
    if token is None:  # right token, someone else's account in the URL
        client = TwilioClient("AC" + "f" * 32, twilio_standin.auth_token,
                              http_client=RedirectingTwilioHttpClient(twilio_standin.base_url, 2))
    with pytest.raises(TwilioRestException) as caught:
        send_sms(client)
    assert (caught.value.status, caught.value.code) == (401, 20003)
    assert caught.value.msg == "Unable to create record: Authenticate"
    assert twilio_standin.messages == [] and twilio_standin.requests == 1


@pytest.mark.parametrize(("kwargs", "code"), [
    ({"to": "12345"}, 21211),
    ({"body": None}, 21602),
    ({"body": "x" * 1601}, 21617),
])
def test_twilio_validates_like_the_real_api(twilio_standin, kwargs, code):
    with pytest.raises(TwilioRestException) as caught:
        send_sms(twilio_client(twilio_standin), **kwargs)
    assert (caught.value.status, caught.value.code) == (400, code)
    assert twilio_standin.messages == []


@pytest.mark.parametrize(("code", "text"), [
    (21211, f"Invalid 'To' Phone Number: {TO}"),
    (21610, "Attempt to send to unsubscribed recipient"),
    (21614, "'To' number is not a valid mobile number"),
])
def test_twilio_error_mode_surfaces_status_and_code(twilio_standin, code, text):
    twilio_standin.fail_next(1, "error", status=400, code=code)
    client = twilio_client(twilio_standin)
    with pytest.raises(TwilioRestException) as caught:
        send_sms(client)
    error = caught.value
    assert (error.status, error.code, error.method) == (400, code, "POST")
    assert error.msg == f"Unable to create record: {text}"
    assert json.loads(client.http_client.last_response.text) == {
        "code": code, "message": text, "more_info": f"https://www.twilio.com/docs/errors/{code}", "status": 400}
    assert send_sms(client).status == "queued"  # the script is used up
    assert len(twilio_standin.messages) == 1 and twilio_standin.requests == 2


def test_twilio_rate_limit_is_429_with_retry_after(twilio_standin):
    twilio_standin.fail_next(1, "rate_limit", retry_after=7)
    client = twilio_client(twilio_standin)
    with pytest.raises(TwilioRestException) as caught:
        send_sms(client)
    assert (caught.value.status, caught.value.code) == (429, 20429)
    assert not hasattr(caught.value, "headers")  # twilio-python drops the headers...
    assert client.http_client.last_response.headers["Retry-After"] == "7"  # ...the http client keeps them


@pytest.mark.parametrize(("status", "code"), [(500, 20500), (503, 20503)])
def test_twilio_server_error(twilio_standin, status, code):
    twilio_standin.fail_next(1, "server_error", status=status)
    with pytest.raises(TwilioRestException) as caught:
        send_sms(twilio_client(twilio_standin))
    assert (caught.value.status, caught.value.code) == (status, code)


def test_twilio_server_error_with_a_non_json_body_uses_the_status_as_code(twilio_standin):
    twilio_standin.fail_next(1, "server_error", status=502, body="<html>Bad Gateway</html>")
    with pytest.raises(TwilioRestException) as caught:
        send_sms(twilio_client(twilio_standin))
    assert (caught.value.status, caught.value.code, caught.value.msg) == (502, 502, "Unable to create record")


def test_twilio_timeout_is_a_requests_read_timeout_and_is_not_retried(twilio_standin):
    twilio_standin.fail_next(1, "timeout", seconds=3)
    started = time.monotonic()
    with pytest.raises(requests.exceptions.ReadTimeout):
        send_sms(twilio_client(twilio_standin, timeout=0.3))
    assert time.monotonic() - started < 2
    assert twilio_standin.requests == 1 and twilio_standin.messages == []


def test_twilio_timeout_after_delivery_records_the_message(twilio_standin):
    twilio_standin.fail_next(1, "timeout", seconds=3, deliver=True)
    with pytest.raises(requests.exceptions.ReadTimeout):
        send_sms(twilio_client(twilio_standin, timeout=0.3))
    assert len(twilio_standin.wait_for(1, timeout=1)) == 1  # sent, but the caller never learnt the sid


def test_twilio_disconnect_is_a_requests_connection_error(twilio_standin):
    twilio_standin.fail_next(1, "disconnect")
    with pytest.raises(requests.exceptions.ConnectionError):
        send_sms(twilio_client(twilio_standin))
    assert twilio_standin.requests == 1


def test_twilio_fail_always_and_clear_failures(twilio_standin):
    client = twilio_client(twilio_standin)
    twilio_standin.fail_next(1, "rate_limit")
    twilio_standin.fail_always("server_error", status=503)
    statuses = []
    for _ in range(3):
        with pytest.raises(TwilioRestException) as caught:
            send_sms(client)
        statuses.append(caught.value.status)
    assert statuses == [429, 503, 503]
    twilio_standin.clear_failures()
    assert send_sms(client).status == "queued"
    assert [entry["status"] for entry in twilio_standin.request_log] == [429, 503, 503, 201]


@pytest.mark.parametrize("webhook_receiver", [{"require_signature": False}], indirect=True)
def test_twilio_status_callback_is_signed_like_twilio(twilio_standin, webhook_receiver):
    message = send_sms(twilio_client(twilio_standin))
    url = webhook_receiver.url("/hooks/twilio/status?tenant=a")

    assert twilio_standin.post_status_callback(url, message.sid, "undelivered", error_code=30003) == 200
    assert twilio_standin.post_status_callback(url, message.sid, "delivered", forge=True) == 200
    genuine, forged = webhook_receiver.wait_for(2)

    validator = RequestValidator(twilio_standin.auth_token)
    assert genuine["form"] == {
        "AccountSid": twilio_standin.account_sid, "ApiVersion": "2010-04-01", "From": FROM, "To": TO,
        "MessageSid": message.sid, "SmsSid": message.sid, "MessageStatus": "undelivered",
        "SmsStatus": "undelivered", "ErrorCode": "30003",
    }
    assert "ErrorCode" not in forged["form"]
    assert validator.validate(url, genuine["form"], genuine["headers"]["X-Twilio-Signature"])
    assert not validator.validate(url, forged["form"], forged["headers"]["X-Twilio-Signature"])


# ---------------------------------------------------------------------------------------
# Slack
# ---------------------------------------------------------------------------------------


def slack_client(standin: SlackStandIn, token: str | None = None, **kw) -> slack_sdk.WebClient:
    return slack_sdk.WebClient(token=token or standin.token, base_url=standin.api_url, timeout=kw.pop("timeout", 2),
                               **kw)


BLOCKS = [{"type": "section", "text": {"type": "mrkdwn", "text": "*Room 101* breach"}}]


def test_slack_default_retry_handlers_are_connection_errors_only():
    handlers = slack_sdk.WebClient().retry_handlers
    assert [type(h) for h in handlers] == [ConnectionErrorRetryHandler]
    assert handlers[0].max_retry_count == 1
    assert [type(h) for h in WebhookClient("http://127.0.0.1:9/x").retry_handlers] == [ConnectionErrorRetryHandler]


def test_slack_post_message_answers_like_the_web_api(slack_standin):
    response = slack_client(slack_standin).chat_postMessage(channel="#alerts", text="Room 101 breach", blocks=BLOCKS)
    assert response.status_code == 200 and response["ok"] is True
    assert re.fullmatch(r"C[0-9A-F]{10}", response["channel"])
    assert re.fullmatch(r"\d{10}\.\d{6}", response["ts"])
    assert response["message"]["text"] == "Room 101 breach" and response["message"]["blocks"] == BLOCKS

    [recorded] = slack_standin.wait_for(1)
    assert recorded["kind"] == "chat.postMessage"
    assert (recorded["channel"], recorded["channel_id"], recorded["ts"]) == (
        "#alerts", response["channel"], response["ts"])
    assert (recorded["text"], recorded["blocks"]) == ("Room 101 breach", BLOCKS)

    again = slack_client(slack_standin).chat_postMessage(channel="C0123ABCD", text="second")
    assert again["channel"] == "C0123ABCD" and again["ts"] != response["ts"]


def test_slack_form_encoded_post_with_token_in_body(slack_standin):
    response = requests.post(slack_standin.api_url + "chat.postMessage", timeout=2, data={
        "token": slack_standin.token, "channel": "C0123ABCD", "text": "hi", "blocks": json.dumps(BLOCKS)})
    assert response.json()["ok"] is True
    assert slack_standin.messages[0]["blocks"] == BLOCKS


def test_slack_auth_test(slack_standin):
    assert slack_client(slack_standin).auth_test()["team_id"] == SlackStandIn.TEAM_ID


@pytest.mark.parametrize(("token", "error"), [("xoxb-wrong", "invalid_auth")])
def test_slack_wrong_token_is_200_invalid_auth(slack_standin, token, error):
    with pytest.raises(SlackApiError) as caught:
        slack_client(slack_standin, token=token).chat_postMessage(channel="#alerts", text="x")
    assert caught.value.response.status_code == 200
    assert caught.value.response["ok"] is False and caught.value.response["error"] == error
    assert slack_standin.messages == []


@pytest.mark.parametrize("error", ["channel_not_found", "account_inactive", "invalid_auth", "not_in_channel",
                                   "msg_too_long"])
def test_slack_error_mode_is_200_ok_false(slack_standin, error):
    slack_standin.fail_next(1, "error", error=error)
    client = slack_client(slack_standin)
    with pytest.raises(SlackApiError) as caught:
        client.chat_postMessage(channel="#alerts", text="x")
    assert caught.value.response.status_code == 200
    assert caught.value.response["error"] == error
    assert client.chat_postMessage(channel="#alerts", text="x")["ok"]


@pytest.mark.filterwarnings("ignore:The top-level `text` argument is missing:UserWarning")
def test_slack_validates_text(slack_standin):
    client = slack_client(slack_standin)
    for kwargs, error in [({"text": "x" * 40001}, "msg_too_long"), ({"text": ""}, "no_text")]:
        with pytest.raises(SlackApiError) as caught:
            client.chat_postMessage(channel="#alerts", **kwargs)
        assert caught.value.response["error"] == error


def test_slack_rate_limit_is_429_with_retry_after(slack_standin):
    slack_standin.fail_next(1, "rate_limit", retry_after=30)
    with pytest.raises(SlackApiError) as caught:
        slack_client(slack_standin).chat_postMessage(channel="#alerts", text="x")
    response = caught.value.response
    assert response.status_code == 429 and response["error"] == "ratelimited"
    assert response.headers["Retry-After"] == "30" and response.headers["retry-after"] == "30"
    assert slack_standin.requests == 1  # not retried by the default handlers


def test_slack_rate_limit_handler_is_opt_in_and_honours_retry_after(slack_standin):
    slack_standin.fail_next(1, "rate_limit", retry_after=0)
    client = slack_client(slack_standin, retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=1)])
    assert client.chat_postMessage(channel="#alerts", text="x")["ok"]
    assert slack_standin.requests == 2


@pytest.mark.parametrize(("kwargs", "error"), [
    ({"status": 500}, "fatal_error"),
    ({"status": 503}, "service_unavailable"),
    ({"status": 503, "body": "<html>unavailable</html>"}, "Received a response in a non-JSON format: "
                                                          "<html>unavailable</html>"),
])
def test_slack_server_error(slack_standin, kwargs, error):
    slack_standin.fail_next(1, "server_error", **kwargs)
    with pytest.raises(SlackApiError) as caught:
        slack_client(slack_standin).chat_postMessage(channel="#alerts", text="x")
    assert caught.value.response.status_code == kwargs["status"]
    assert caught.value.response["error"] == error
    assert slack_standin.requests == 1


def test_slack_read_timeout_raises_timeouterror_and_is_not_retried(slack_standin):
    slack_standin.fail_next(1, "timeout", seconds=3)
    with pytest.raises(TimeoutError):
        slack_client(slack_standin, timeout=0.3).chat_postMessage(channel="#alerts", text="x")
    assert slack_standin.requests == 1 and slack_standin.messages == []


def test_slack_disconnect_is_retried_once_by_the_default_handler(slack_standin):
    slack_standin.fail_next(1, "disconnect")
    assert slack_client(slack_standin).chat_postMessage(channel="#alerts", text="x")["ok"]
    assert slack_standin.requests == 2 and len(slack_standin.messages) == 1


def test_slack_disconnect_without_retry_handlers_raises_remote_disconnected(slack_standin):
    slack_standin.fail_next(1, "disconnect")
    with pytest.raises(http.client.RemoteDisconnected):
        slack_client(slack_standin, retry_handlers=[]).chat_postMessage(channel="#alerts", text="x")


def test_slack_incoming_webhook(slack_standin):
    response = WebhookClient(slack_standin.webhook_url, timeout=2).send(text="Room 101 breach", blocks=BLOCKS)
    assert (response.status_code, response.body) == (200, "ok")
    [recorded] = slack_standin.wait_for(1)
    assert recorded["kind"] == "webhook" and recorded["text"] == "Room 101 breach" and recorded["blocks"] == BLOCKS


@pytest.mark.parametrize(("mode", "kwargs", "status", "body"), [
    ("error", {"error": "no_service"}, 404, "no_service"),
    ("error", {"error": "invalid_token"}, 403, "invalid_token"),
    ("error", {"error": "action_prohibited"}, 403, "action_prohibited"),
    ("error", {"error": "channel_is_archived"}, 410, "channel_is_archived"),
    ("rate_limit", {"retry_after": 5}, 429, "rate_limited"),
    ("server_error", {}, 500, "rollup_error"),
])
def test_slack_incoming_webhook_failures(slack_standin, mode, kwargs, status, body):
    slack_standin.fail_next(1, mode, **kwargs)
    response = WebhookClient(slack_standin.webhook_url, timeout=2).send(text="x")  # never raises
    assert (response.status_code, response.body) == (status, body)
    if mode == "rate_limit":
        assert response.headers["Retry-After"] == "5"
    assert slack_standin.messages == []


def test_slack_incoming_webhook_unknown_url_and_empty_payload(slack_standin):
    unknown = WebhookClient(slack_standin.base_url + "/services/T000/B000/revoked", timeout=2).send(text="x")
    assert (unknown.status_code, unknown.body) == (404, "no_service")
    empty = WebhookClient(slack_standin.webhook_url, timeout=2).send_dict({"username": "tocsin"})
    assert (empty.status_code, empty.body) == (400, "no_text")


# ---------------------------------------------------------------------------------------
# SMTP
# ---------------------------------------------------------------------------------------


def django_backend(standin: SmtpStandIn, timeout: float = 2) -> EmailBackend:
    return EmailBackend(host=standin.host, port=standin.port, timeout=timeout, username="", password="",
                        use_tls=False, use_ssl=False, fail_silently=False)


def alert_email() -> EmailMessage:
    return EmailMessage(subject="[critical] Room 101 breach", body="Door open at 03:12.\nAcknowledge it.",
                        from_email="Tocsin <alerts@tocsin.test>", to=["ops@hotel.test"], cc=["duty@hotel.test"])


def test_smtp_records_mail_sent_with_smtplib(smtp_standin):
    with smtplib.SMTP(smtp_standin.host, smtp_standin.port, timeout=2) as client:
        refused = client.sendmail("a@tocsin.test", ["b@x.test", "c@x.test"],
                                  "Subject: Hello\r\nFrom: a@tocsin.test\r\n\r\nline one\r\nline two\r\n")
    assert refused == {}
    [recorded] = smtp_standin.wait_for(1)
    assert (recorded["from"], recorded["to"], recorded["subject"]) == ("a@tocsin.test", ["b@x.test", "c@x.test"],
                                                                        "Hello")
    assert recorded["body"] == "line one\nline two\n"
    assert smtp_standin.requests == 1


def test_smtp_records_mail_sent_by_djangos_smtp_backend(smtp_standin):
    assert django_backend(smtp_standin).send_messages([alert_email()]) == 1
    [recorded] = smtp_standin.wait_for(1)
    assert recorded["subject"] == "[critical] Room 101 breach"
    assert recorded["from"] == "alerts@tocsin.test"
    assert recorded["to"] == ["ops@hotel.test", "duty@hotel.test"]
    assert recorded["body"].rstrip("\n") == "Door open at 03:12.\nAcknowledge it."
    assert recorded["message_id"]


def test_smtp_email_url_configures_djangos_backend(smtp_standin):
    import environ

    config = environ.Env.email_url_config(smtp_standin.email_url)
    assert config["EMAIL_BACKEND"] == "django.core.mail.backends.smtp.EmailBackend"
    assert (config["EMAIL_HOST"], config["EMAIL_PORT"]) == (smtp_standin.host, smtp_standin.port)


@pytest.mark.parametrize("code", [451, 550])
def test_smtp_reject_at_data_raises_smtpdataerror(smtp_standin, code):
    smtp_standin.fail_next(1, "reject", code=code)
    backend = django_backend(smtp_standin)
    with pytest.raises(smtplib.SMTPDataError) as caught:
        backend.send_messages([alert_email()])
    assert caught.value.smtp_code == code
    assert backend.send_messages([alert_email()]) == 1  # next transaction goes through
    assert len(smtp_standin.messages) == 1 and smtp_standin.requests == 2


@pytest.mark.parametrize("code", [451, 550])
def test_smtp_reject_at_rcpt_raises_recipients_refused(smtp_standin, code):
    smtp_standin.fail_next(1, "reject", code=code, stage="rcpt", message="5.1.1 No such user")
    with pytest.raises(smtplib.SMTPRecipientsRefused) as caught:
        django_backend(smtp_standin).send_messages([alert_email()])
    assert caught.value.recipients == {"ops@hotel.test": (code, b"5.1.1 No such user"),
                                       "duty@hotel.test": (code, b"5.1.1 No such user")}
    assert not hasattr(caught.value, "smtp_code")  # the codes live in .recipients
    assert smtp_standin.messages == []


def test_smtp_reject_at_mail_raises_sender_refused(smtp_standin):
    smtp_standin.fail_next(1, "reject", code=550, stage="mail")
    with pytest.raises(smtplib.SMTPSenderRefused) as caught:
        django_backend(smtp_standin).send_messages([alert_email()])
    assert caught.value.smtp_code == 550 and "alerts@tocsin.test" in caught.value.sender


@pytest.mark.parametrize("stage", ["rcpt", "data"])
def test_smtp_disconnect_raises_server_disconnected(smtp_standin, stage):
    smtp_standin.fail_next(1, "disconnect", stage=stage)
    with pytest.raises(smtplib.SMTPServerDisconnected):
        django_backend(smtp_standin).send_messages([alert_email()])
    assert smtp_standin.messages == []
    assert django_backend(smtp_standin).send_messages([alert_email()]) == 1


def test_smtp_timeout_raises_server_disconnected(smtp_standin):
    smtp_standin.fail_next(1, "timeout", seconds=3)
    with pytest.raises(smtplib.SMTPServerDisconnected, match="timed out"):
        django_backend(smtp_standin, timeout=0.3).send_messages([alert_email()])
    assert smtp_standin.messages == []


def test_smtp_fail_always_and_bad_stage(smtp_standin):
    smtp_standin.fail_always("reject", code=421)
    for _ in range(2):
        with pytest.raises(smtplib.SMTPDataError):
            django_backend(smtp_standin).send_messages([alert_email()])
    smtp_standin.clear_failures()
    assert django_backend(smtp_standin).send_messages([alert_email()]) == 1
    with pytest.raises(ValueError):
        smtp_standin.fail_next(1, "reject", stage="helo")


# ---------------------------------------------------------------------------------------
# Signed webhooks
# ---------------------------------------------------------------------------------------


def post_signed(receiver: WebhookReceiver, payload: dict, path: str = "/hook", secret: str | None = None,
                timestamp: int | None = None, timeout: float = 2) -> requests.Response:
    body = json.dumps(payload).encode()
    stamp = int(time.time()) if timestamp is None else timestamp
    headers = {"Content-Type": "application/json", TIMESTAMP_HEADER: str(stamp),
               SIGNATURE_HEADER: sign(secret or receiver.secret, stamp, body)}
    return requests.post(receiver.url(path), data=body, headers=headers, timeout=timeout)


def test_sign_is_hmac_sha256_over_timestamp_dot_body():
    body = b'{"alert": 1}'
    expected = hmac.new(b"s3cret", b"1700000000." + body, hashlib.sha256).hexdigest()
    assert sign("s3cret", 1700000000, body) == "v1=" + expected
    assert re.fullmatch(r"v1=[0-9a-f]{64}", sign("s3cret", 1700000000, body))


def test_webhook_receiver_records_verified_deliveries(webhook_receiver):
    response = post_signed(webhook_receiver, {"event": "alert.raised", "id": 7}, path="/tenants/a/alerts")
    assert response.status_code == 200 and response.json() == {"received": True}
    [recorded] = webhook_receiver.wait_for(1)
    assert recorded["path"] == "/tenants/a/alerts"
    assert recorded["json"] == {"event": "alert.raised", "id": 7}
    assert recorded["verified"] is True
    assert recorded["headers"][SIGNATURE_HEADER].startswith("v1=")


def test_webhook_receiver_accepts_any_of_several_signatures(webhook_receiver):
    body, stamp = b'{"a": 1}', int(time.time())
    signatures = f"{sign('old-secret', stamp, body)},{sign(webhook_receiver.secret, stamp, body)}"
    response = requests.post(webhook_receiver.url(), data=body, timeout=2,
                             headers={TIMESTAMP_HEADER: str(stamp), SIGNATURE_HEADER: signatures})
    assert response.status_code == 200


@pytest.mark.parametrize(("how", "reason"), [
    ("unsigned", "missing signature"),
    ("wrong secret", "bad signature"),
    ("stale", "stale timestamp"),
    ("tampered", "bad signature"),
])
def test_webhook_receiver_rejects_unverified_requests(webhook_receiver, how, reason):
    if how == "unsigned":
        response = requests.post(webhook_receiver.url(), json={"a": 1}, timeout=2)
    elif how == "wrong secret":
        response = post_signed(webhook_receiver, {"a": 1}, secret="not-the-secret")
    elif how == "stale":
        response = post_signed(webhook_receiver, {"a": 1}, timestamp=int(time.time()) - 301)
    else:
        stamp = int(time.time())
        headers = {TIMESTAMP_HEADER: str(stamp), SIGNATURE_HEADER: sign(webhook_receiver.secret, stamp, b'{"a": 1}')}
        response = requests.post(webhook_receiver.url(), data=b'{"a": 2}', headers=headers, timeout=2)
    assert response.status_code == 401 and response.json() == {"error": reason}
    assert webhook_receiver.messages == [] and webhook_receiver.requests == 1


@pytest.mark.parametrize("webhook_receiver", [{"require_signature": False}], indirect=True)
def test_webhook_receiver_can_accept_unsigned_requests(webhook_receiver):
    assert requests.post(webhook_receiver.url(), json={"a": 1}, timeout=2).status_code == 200
    assert webhook_receiver.wait_for(1)[0]["verified"] is False


@pytest.mark.parametrize(("status", "retry_after"), [(410, None), (400, None), (500, None), (503, 120)])
def test_webhook_receiver_status_failures(webhook_receiver, status, retry_after):
    webhook_receiver.fail_next(1, "status", status=status, retry_after=retry_after)
    response = post_signed(webhook_receiver, {"a": 1})
    assert response.status_code == status
    assert response.headers.get("Retry-After") == (None if retry_after is None else str(retry_after))
    assert webhook_receiver.messages == []
    assert post_signed(webhook_receiver, {"a": 1}).status_code == 200


def test_webhook_receiver_timeout_and_disconnect(webhook_receiver):
    webhook_receiver.fail_next(1, "timeout", seconds=3)
    webhook_receiver.fail_next(1, "disconnect")
    with pytest.raises(requests.exceptions.ReadTimeout):
        post_signed(webhook_receiver, {"a": 1}, timeout=0.3)
    with pytest.raises(requests.exceptions.ConnectionError):
        post_signed(webhook_receiver, {"a": 1})
    assert webhook_receiver.messages == [] and webhook_receiver.requests == 2


# ---------------------------------------------------------------------------------------
# Common behaviour
# ---------------------------------------------------------------------------------------


def test_wait_for_times_out_with_what_arrived(webhook_receiver):
    post_signed(webhook_receiver, {"a": 1})
    started = time.monotonic()
    with pytest.raises(TimeoutError, match="wanted 2 message") as caught:
        webhook_receiver.wait_for(2, timeout=0.2)
    assert time.monotonic() - started < 1
    assert [m["json"] for m in caught.value.messages] == [{"a": 1}]


def test_wait_for_wakes_when_a_message_arrives_from_another_thread(webhook_receiver):
    timer = threading.Timer(0.2, post_signed, args=(webhook_receiver, {"late": True}))
    timer.start()
    try:
        assert webhook_receiver.wait_for(1, timeout=5)[0]["json"] == {"late": True}
    finally:
        timer.join()


def test_concurrent_deliveries_are_all_recorded(twilio_standin):
    client = twilio_client(twilio_standin)
    with ThreadPoolExecutor(max_workers=8) as pool:
        sids = list(pool.map(lambda i: send_sms(client, body=f"msg {i}").sid, range(24)))
    recorded = twilio_standin.wait_for(24)
    assert len(set(sids)) == 24 and {m["sid"] for m in recorded} == set(sids)
    assert twilio_standin.requests == 24


def test_delay_seconds_adds_latency(slack_standin):
    slack_standin.delay_seconds = 0.3
    started = time.monotonic()
    slack_client(slack_standin).chat_postMessage(channel="#alerts", text="x")
    assert time.monotonic() - started >= 0.3


def test_reset_and_unknown_modes(slack_standin):
    slack_client(slack_standin).chat_postMessage(channel="#alerts", text="x")
    slack_standin.fail_always("server_error")
    slack_standin.delay_seconds = 1
    slack_standin.reset()
    assert (slack_standin.messages, slack_standin.requests, slack_standin.request_log) == ([], 0, [])
    assert slack_client(slack_standin).chat_postMessage(channel="#alerts", text="x")["ok"]
    with pytest.raises(ValueError, match="no failure mode"):
        slack_standin.fail_next(1, "explode")
    with pytest.raises(ValueError):
        slack_standin.fail_next(0, "timeout")


@pytest.mark.parametrize("factory", [TwilioStandIn, SlackStandIn, WebhookReceiver])
def test_stop_cuts_a_pending_timeout_short_and_frees_the_port(factory):
    standin = factory().start()
    port = standin.port
    standin.fail_next(1, "timeout", seconds=30)
    thread = threading.Thread(target=lambda: _swallow(requests.post, standin.base_url + "/x", timeout=30))
    thread.start()
    deadline = time.monotonic() + 2
    while standin.requests == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    started = time.monotonic()
    standin.stop()
    thread.join(timeout=5)
    assert time.monotonic() - started < 2 and not thread.is_alive()
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.post(f"http://127.0.0.1:{port}/x", timeout=1)


def test_smtp_stop_cuts_a_pending_timeout_short():
    standin = SmtpStandIn().start()
    standin.fail_next(1, "timeout", seconds=30)
    thread = threading.Thread(target=lambda: _swallow(django_backend(standin, timeout=30).send_messages,
                                                      [alert_email()]))
    thread.start()
    deadline = time.monotonic() + 2
    while standin.requests == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    started = time.monotonic()
    standin.stop()
    thread.join(timeout=5)
    assert time.monotonic() - started < 2 and not thread.is_alive()


def test_secrets_stay_out_of_reprs_and_logs(twilio_standin, slack_standin, webhook_receiver):
    send_sms(twilio_client(twilio_standin))
    slack_client(slack_standin).chat_postMessage(channel="#alerts", text="x")
    post_signed(webhook_receiver, {"a": 1}, path="/h")
    text = repr([twilio_standin, slack_standin, webhook_receiver, twilio_standin.request_log,
                 slack_standin.request_log, twilio_standin.messages, slack_standin.messages, webhook_receiver.messages])
    for secret in (twilio_standin.auth_token, slack_standin.token, webhook_receiver.secret):
        assert secret not in text


def _swallow(func, *args, **kwargs):
    with contextlib.suppress(Exception):  # the caller only cares that the call ended
        func(*args, **kwargs)
