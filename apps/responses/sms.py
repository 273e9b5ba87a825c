"""Answering a page by SMS: "1" acknowledges, "2" resolves, "3" snoozes 30 minutes,
optionally naming the alert by its reply code ("1 K7Q").

Invariant: a reply acts only on an alert of a tenant the sending number belongs to (a
person's phone contact, or a plain SMS or voice channel's number), and only as the person
whose contact it is in that alert's tenant. Without a code it acts on the alert of the
latest page sent to that number; when that page bundled several alerts, the reply must
name one. An unknown number, an unknown code or a number without a person gets a polite
refusal and changes nothing. Twilio's message SID is spent with the action, so a repeated
delivery of the same reply acts once.
"""

from __future__ import annotations

import re

import phonenumbers
from django.db import transaction

from apps.alerts.models import Alert
from apps.alerts.reply_codes import normalise_code
from apps.notifications.models import PHONE_KINDS, Channel, Notification, NotificationStatus, Purpose
from apps.notifications.page_actions import SMS_REPLIES, SPOKEN
from apps.responses import actions, nonces, people
from apps.responses.models import NonceScope

REPLY = re.compile(r"^\s*(?P<digit>\d)\s*(?P<code>[A-Za-z0-9]{3,8})?\s*[.!]?\s*$")
HELP = ("Tocsin: reply " + ", ".join(f"{digit} to {SPOKEN[action]}" for digit, action in SMS_REPLIES.items())
        + "; add the alert's code when several are open, e.g. 1 K7Q.")
UNKNOWN_NUMBER = "Tocsin: this number is not set up to answer alerts. Nothing was changed."
NO_PERSON = ("Tocsin: this number is not linked to a person, so it can't act on alerts. Add it to your "
             "contact methods in Tocsin, or act on the board. Nothing was changed.")
UNKNOWN_CODE = "Tocsin: no alert paged to this number has that code. Nothing was changed."
NO_PAGE = "Tocsin: no alert was paged to this number. Nothing was changed."
SEVERAL = "Tocsin: your last message named several alerts; reply with the code of one, e.g. 1 {code}."


def normalise_number(raw: str) -> str:
    try:
        number = phonenumbers.parse((raw or "")[:32], None)
    except phonenumbers.NumberParseException:
        return ""
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164) \
        if phonenumbers.is_valid_number(number) else ""


def _tenants_of(number: str, contacts: dict[int, int]) -> set[int]:
    plain = Channel.objects.filter(kind__in=PHONE_KINDS, target=number, personal=False,
                                   archived_at__isnull=True).values_list("tenant_id", flat=True)
    return set(contacts) | set(plain)


def _pages_to(number: str, tenants: set[int]):
    return (Notification.objects.filter(tenant_id__in=tenants, purpose=Purpose.PAGE, channel__kind__in=PHONE_KINDS,
                                        channel__target=number, sent_at__isnull=False,
                                        status__in=[NotificationStatus.SENT, NotificationStatus.FAILED])
            .order_by("-sent_at", "-id"))


def _alert_by_code(code: str, number: str, tenants: set[int]) -> Alert | None:
    """The alert with this code in one of the number's tenants; a code two tenants share goes
    to the one whose alert was paged to this number last."""
    found = list(Alert.objects.filter(tenant_id__in=tenants, reply_code=code).select_related("tenant", "site"))
    if len(found) <= 1:
        return found[0] if found else None
    latest = _pages_to(number, tenants).filter(alert__in=found).first()
    return next((a for a in found if latest and a.pk == latest.alert_id), None)


def _alert_of_latest_page(number: str, tenants: set[int]) -> tuple[Alert | None, str]:
    """(alert, refusal): the alert of the latest page to this number, unless it was a bundle."""
    latest = _pages_to(number, tenants).select_related("alert__tenant", "alert__site").first()
    if latest is None:
        return None, NO_PAGE
    if latest.provider_message_id:
        bundled = set(Notification.objects.filter(provider_message_id=latest.provider_message_id,
                                                  tenant_id=latest.tenant_id).values_list("alert_id", flat=True))
        if len(bundled) > 1:
            return None, SEVERAL.format(code=latest.alert.reply_code or "K7Q")
    return latest.alert, ""


def answer_sms(*, from_number: str, body: str, message_sid: str) -> str:
    """Act on an inbound reply; the text to answer with (TwiML is the view's)."""
    match = REPLY.match((body or "")[:200])
    if match is None or match["digit"] not in SMS_REPLIES:
        return HELP
    number = normalise_number(from_number)
    contacts = people.phone_contacts(number) if number else {}
    tenants = _tenants_of(number, contacts) if number else set()
    if not tenants:
        return UNKNOWN_NUMBER
    code = normalise_code(match["code"] or "")
    if match["code"] and not code:
        return UNKNOWN_CODE
    if code:
        alert, refusal = _alert_by_code(code, number, tenants), UNKNOWN_CODE
    else:
        alert, refusal = _alert_of_latest_page(number, tenants)
    if alert is None:
        return refusal
    user = people.person_for_phone(tenant_id=alert.tenant_id, number=number)
    if user is None:
        return NO_PERSON
    with transaction.atomic():
        if message_sid and not nonces.spend(scope=NonceScope.TWILIO_SMS, nonce=message_sid):
            return "Tocsin: this reply was received already."
        outcome = actions.act(alert=alert, user=user, action=SMS_REPLIES[match["digit"]], via="sms")
    return f"Tocsin: {outcome.text}"
