"""A page by phone call: the TwiML that reads the alert and what a key press does.

Invariant: a call's TwiML and its key press act only on the alert the call was placed
for, and only when a voice page of that alert went to the number Twilio called (so a
signed request about any other alert or number reads nothing and changes nothing); the
key press acts as the person whose phone contact that number is in the alert's tenant.
Keys come from `page_actions.VOICE_KEYS` (1 acknowledges, 2 escalates at once).
"""

from __future__ import annotations

from twilio.twiml.voice_response import VoiceResponse

from apps.alerts.models import Alert
from apps.notifications.models import ChannelKind, Notification, Purpose
from apps.notifications.page_actions import VOICE_KEYS
from apps.notifications.providers.twilio_voice import voice_url
from apps.responses import actions, people
from apps.responses.sms import normalise_number

GATHER_SECONDS = 8
VOICE = "Polly.Joanna"


def _called_alert(alert_public_id: str, to_number: str) -> Alert | None:
    number = normalise_number(to_number)
    if not number or not alert_public_id.startswith("alr_") or len(alert_public_id) > 40:
        return None
    paged = Notification.objects.filter(alert__public_id=alert_public_id, purpose=Purpose.PAGE,
                                        channel__kind=ChannelKind.VOICE, channel__target=number)
    if not paged.exists():
        return None
    return Alert.objects.select_related("tenant", "site").filter(public_id=alert_public_id).first()


def gather_url(alert_public_id: str) -> str:
    return f"{voice_url(alert_public_id)}gather/"


def _spoken(alert: Alert) -> str:
    where = f" {alert.site.name}." if alert.site_id else ""
    return f"{alert.get_severity_display()}. {alert.get_kind_display()}. {alert.summary}.{where}"


def _menu() -> str:
    words = {"acknowledge": "acknowledge", "escalate": "escalate to the next people now"}
    return " ".join(f"Press {key} to {words[action]}." for key, action in VOICE_KEYS.items())


def call_twiml(*, alert_public_id: str, to_number: str) -> str:
    """What the callee hears: the alert, then a menu; silence ends the call (the step's delay
    then decides, as for any page that was delivered but not acknowledged)."""
    response = VoiceResponse()
    alert = _called_alert(alert_public_id, to_number)
    if alert is None:
        response.say("This call is no longer about an alert. Goodbye.", voice=VOICE)
        response.hangup()
        return str(response)
    gather = response.gather(num_digits=1, action=gather_url(alert.public_id), method="POST",
                             timeout=GATHER_SECONDS)
    gather.say(f"Tocsin alert. {_spoken(alert)} It is {alert.get_status_display().lower()}.", voice=VOICE)
    gather.say(_menu(), voice=VOICE)
    response.say("No key was pressed. Goodbye.", voice=VOICE)
    response.hangup()
    return str(response)


def gather_twiml(*, alert_public_id: str, to_number: str, digits: str) -> str:
    """Act on the key pressed, and say what happened."""
    response = VoiceResponse()
    alert = _called_alert(alert_public_id, to_number)
    action = VOICE_KEYS.get((digits or "")[:1])
    if alert is None:
        response.say("This call is no longer about an alert. Nothing was changed. Goodbye.", voice=VOICE)
    elif action is None:
        response.say("That key does nothing.", voice=VOICE)
        response.redirect(voice_url(alert.public_id), method="POST")
        return str(response)
    else:
        user = people.person_for_phone(tenant_id=alert.tenant_id, number=normalise_number(to_number))
        if user is None:
            response.say("This number is not linked to a person in Tocsin. Nothing was changed.", voice=VOICE)
        else:
            response.say(actions.act(alert=alert, user=user, action=action, via="voice").text, voice=VOICE)
    response.hangup()
    return str(response)
