"""'Your on-call shift starts now': one notice per person, roster and shift.

Invariants: the notice is keyed by (roster, person, shift start) by a unique constraint,
and claimed by one conditional UPDATE (`sent_at` from NULL) before it is sent, so the beat
task may run as often as it likes, on several workers at once, and a person is told once;
a notice that could not be sent (mail server down) is released and tried again by the
next run while its shift is recent. The notice goes by email (Django's email backend) to the
person's email contact methods, or to their account's address when they have none.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.utils import timezone

from apps.oncall.models import ContactKind, ContactMethod, Roster, ShiftNotice
from apps.oncall.rotation import RosterState

logger = logging.getLogger(__name__)
RECENT = timedelta(hours=1)  # a shift that began longer ago is not announced any more


def _addresses(roster: Roster, user) -> list[str]:
    emails = list(ContactMethod.objects.filter(tenant_id=roster.tenant_id, user=user, kind=ContactKind.EMAIL)
                  .values_list("address", flat=True))
    return emails or ([user.email] if user.email else [])


def _send(notice: ShiftNotice, roster: Roster, state: RosterState, now: datetime) -> bool:
    user = get_user_model().objects.filter(pk=notice.user_id, is_active=True).first()
    recipients = _addresses(roster, user) if user else []
    if not recipients:
        return False
    local = notice.shift_start.astimezone(state.zone)
    try:
        send_mail(subject=f"[Tocsin] Your on-call shift on {roster.name} has started",
                  message=(f"You are on call for {roster.name} from {local:%A %d %B %H:%M} ({roster.timezone}). "
                           "Pages for its sites come to you until the next handover."),
                  from_email=settings.DEFAULT_FROM_EMAIL, recipient_list=recipients)
    except Exception:  # noqa: BLE001 (any mail failure: release the claim for the next run)
        logger.warning("shift notice not sent", extra={"roster": roster.public_id}, exc_info=True)
        return False
    return True


def shift_notices_send(*, now: datetime | None = None) -> int:
    """For every roster, tell whoever's shift began within RECENT; returns how many were sent."""
    now = now or timezone.now()
    sent = 0
    for roster in Roster.objects.select_related("tenant").filter(tenant__is_active=True).iterator():
        state = RosterState.load(roster, since=now - timedelta(days=8), until=now)
        shift = state.shift_at(now)
        if shift.user_id is None or now - shift.starts_at > RECENT:
            continue
        notice, _ = ShiftNotice.objects.get_or_create(roster=roster, user_id=shift.user_id,
                                                      shift_start=shift.starts_at,
                                                      defaults={"tenant_id": roster.tenant_id})
        if notice.sent_at is not None:
            continue
        if not ShiftNotice.objects.filter(pk=notice.pk, sent_at__isnull=True).update(sent_at=now):
            continue  # another run claimed it
        if _send(notice, roster, state, now):
            sent += 1
        else:
            ShiftNotice.objects.filter(pk=notice.pk).update(sent_at=None)
    if sent:
        logger.info("shift notices sent", extra={"count": sent})
    return sent
