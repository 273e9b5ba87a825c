"""SMS through the official `twilio` client.

Error classes (https://www.twilio.com/docs/errors): 21211 invalid 'To' number, 21610 the
recipient replied STOP, 21614 not a mobile number, and other 4xx are permanent; 429 and
5xx, timeouts and connection errors are transient. A 500 from Twilio does not prove the
message wasn't sent (error 20500), which is why the outbox row, not the provider, decides
whether we try again.
"""

from __future__ import annotations

import requests
from django.conf import settings
from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from apps.notifications.messages import Message
from apps.notifications.models import Channel
from apps.notifications.providers.base import NETWORK, PermanentError, Receipt, TransientError, retry_after_seconds

TWILIO_PUBLIC_HOST = "https://api.twilio.com"
PERMANENT_CODES = {21211, 21610, 21614, 21408, 21612, 21606, 20003, 20404}


class _HttpClient(TwilioHttpClient):
    """Keeps the last response's headers (Twilio's exception drops Retry-After) and can
    send to another base URL (a regional edge, or the test stand-in)."""

    def __init__(self, *, base_url: str, timeout: float):
        super().__init__(timeout=timeout)
        self.base_url = base_url.rstrip("/")
        self.last_headers: dict = {}

    def request(self, method, url, *args, **kwargs):
        if self.base_url != TWILIO_PUBLIC_HOST and url.startswith(TWILIO_PUBLIC_HOST):
            url = self.base_url + url[len(TWILIO_PUBLIC_HOST):]
        response = super().request(method, url, *args, **kwargs)
        self.last_headers = dict(response.headers or {})
        return response


def status_callback_url() -> str:
    return f"{settings.TOCSIN_PUBLIC_BASE_URL.rstrip('/')}/hooks/twilio/status/"


def twilio_client() -> tuple[Client, _HttpClient]:
    http_client = _HttpClient(base_url=settings.TWILIO_API_BASE_URL, timeout=settings.TOCSIN_NOTIFY_PROVIDER_TIMEOUT)
    return Client(settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN, http_client=http_client), http_client


def classify(exc: Exception, http_client: _HttpClient) -> Exception:
    """The delivery error a Twilio REST failure (messages or calls) stands for."""
    if not isinstance(exc, TwilioRestException):  # timeouts and connection errors
        return TransientError(f"Twilio unreachable: {type(exc).__name__}", code=NETWORK)
    code = exc.code or exc.status
    if exc.status == 429 or exc.status >= 500:
        return TransientError(f"Twilio answered {exc.status}", code=code,
                              retry_after=retry_after_seconds(http_client.last_headers.get("Retry-After")))
    if exc.code in PERMANENT_CODES or 400 <= exc.status < 500:
        return PermanentError(f"Twilio refused the request ({code})", code=code)
    return TransientError(f"Twilio error {code}", code=code)


class TwilioSmsProvider:
    name = "twilio"

    def send(self, channel: Channel, message: Message) -> Receipt:
        client, http_client = twilio_client()
        try:
            sent = client.messages.create(to=channel.target, from_=settings.TWILIO_FROM_NUMBER,
                                          body=message.text[:1500], status_callback=status_callback_url())
        except (TwilioRestException, requests.Timeout, requests.ConnectionError) as exc:
            raise classify(exc, http_client) from exc
        return Receipt(provider_message_id=sent.sid, detail=sent.status or "queued")
