"""Voice calls through the official `twilio` client: a page that rings.

Twilio places the call, then fetches what to say from Tocsin (`voice_url`, TwiML that
reads the alert and gathers a key press: apps.responses answers it) and reports how the
call ended to `voice_status_url` (busy, no answer: a failed attempt that moves the alert
on, see apps.notifications.receipts). Both are our public URLs, which Twilio signs.
Errors are classed as for SMS.
"""

from __future__ import annotations

import requests
from django.conf import settings
from twilio.base.exceptions import TwilioRestException
from twilio.twiml.voice_response import VoiceResponse

from apps.notifications.messages import Message
from apps.notifications.models import Channel
from apps.notifications.providers.base import Receipt
from apps.notifications.providers.twilio_sms import classify, twilio_client

VOICE_PATH = "/hooks/twilio/voice/"
VOICE_STATUS_PATH = "/hooks/twilio/voice/status/"
# Events Twilio reports to the status callback; "completed" also carries busy / no-answer / failed.
STATUS_EVENTS = ["completed"]
# Seconds the phone rings before Twilio calls it "no-answer".
RING_SECONDS = 30


def _public(path: str) -> str:
    return f"{settings.TOCSIN_PUBLIC_BASE_URL.rstrip('/')}{path}"


def voice_url(alert_public_id: str) -> str:
    return _public(f"{VOICE_PATH}{alert_public_id}/")


def voice_status_url() -> str:
    return _public(VOICE_STATUS_PATH)


def _spoken(text: str) -> str:
    response = VoiceResponse()
    response.say(text[:1000])
    response.hangup()
    return str(response)


class TwilioVoiceProvider:
    name = "twilio-voice"

    def send(self, channel: Channel, message: Message) -> Receipt:
        alert_id = message.data.get("alert_id")
        # A page reads its alert from Tocsin when answered; anything else (a channel's test
        # call) is read out as it is.
        script = {"url": voice_url(alert_id), "method": "POST"} if alert_id else {"twiml": _spoken(message.text)}
        client, http_client = twilio_client()
        try:
            call = client.calls.create(to=channel.target, from_=settings.TWILIO_FROM_NUMBER, **script,
                                       status_callback=voice_status_url(), status_callback_event=STATUS_EVENTS,
                                       status_callback_method="POST", timeout=RING_SECONDS)
        except (TwilioRestException, requests.Timeout, requests.ConnectionError) as exc:
            raise classify(exc, http_client) from exc
        return Receipt(provider_message_id=call.sid, detail=call.status or "queued")
