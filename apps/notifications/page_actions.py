"""How a page says it can be answered from where it arrives.

Invariant: a page offers only answers that its medium can carry back to a person, and
that apps.responses acts on: by phone the digits below with the alert's reply code, by
Slack buttons (rendered by the Slack provider from `data["actions"]`), by email signed
single-use links, and only in email to a person's own channel (whoever holds a link acts
as its person). Teams cards and webhooks carry the alert's link only.
"""

from __future__ import annotations

import dataclasses

from apps.alerts.models import Alert
from apps.alerts.reply_codes import alert_reply_code
from apps.notifications import action_links
from apps.notifications.models import PHONE_KINDS, Channel, ChannelKind
from apps.oncall.models import ContactMethod

# The digits a reply or a key press may carry, and what each does. apps.responses reads
# this table: what a page offers and what a reply does can never drift apart.
SMS_REPLIES = {"1": "acknowledge", "2": "resolve", "3": "snooze"}
VOICE_KEYS = {"1": "acknowledge", "2": "escalate"}
SLACK_ACTIONS = ("acknowledge", "resolve", "snooze")
SNOOZE_MINUTES = 30  # what "3" and the Snooze button hold paging for
SPOKEN = {"acknowledge": "acknowledge", "resolve": "resolve", "snooze": f"snooze {SNOOZE_MINUTES} min"}


def sms_instructions(code: str) -> str:
    offers = ", ".join(f"{digit} to {SPOKEN[action]}" for digit, action in SMS_REPLIES.items())
    return f"Reply {offers} (code {code})."


def bundle_instructions() -> str:
    first = next(iter(SMS_REPLIES))
    return f"Reply with the digit and the alert's code, e.g. {first} K7Q: " + ", ".join(
        f"{digit} to {SPOKEN[action]}" for digit, action in SMS_REPLIES.items()) + "."


def _personal_user_id(channel: Channel) -> int | None:
    if not channel.contact_method_id:
        return None
    return ContactMethod.objects.filter(pk=channel.contact_method_id).values_list("user_id", flat=True).first()


def decorate(message, *, alert: Alert, channel: Channel):
    """The page `message` (a messages.Message) with the ways to answer it from `channel`."""
    if channel.kind in PHONE_KINDS:
        code = alert_reply_code(alert=alert)
        data = {**message.data, "reply_code": code}
        if channel.kind == ChannelKind.VOICE:
            return dataclasses.replace(message, data=data)
        return dataclasses.replace(message, text=f"{message.text} {sms_instructions(code)}", data=data)
    if channel.kind == ChannelKind.SLACK:
        return dataclasses.replace(message, data={**message.data, "actions": list(SLACK_ACTIONS)})
    if channel.kind == ChannelKind.EMAIL:
        user_id = _personal_user_id(channel)
        if user_id is not None:
            lines = action_links.email_lines(alert, user_id=user_id)
            return dataclasses.replace(message, text="\n".join([message.text, *lines]))
    return message
