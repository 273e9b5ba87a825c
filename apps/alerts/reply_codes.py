"""Short reply codes: the few characters a person types to name an alert from a phone ("1 K7Q").

Invariant: a code names at most one alert of its tenant, for the alert's whole life (a
partial unique index decides, not a check in Python), so a late reply can never land on
another alert that happened to get the same code. Codes are per tenant: two tenants may
use the same code, and a reply is matched within the tenants its number belongs to.
Codes are given lazily, when a page first goes to a phone, so alerts nobody is paged
about by phone never take one.
"""

from __future__ import annotations

import re
import secrets

from django.db import IntegrityError, transaction

from apps.alerts.models import Alert

# No 0/O, 1/I/L, 2/Z, 5/S, 8/B: what is misread on a small screen or misheard on a call.
ALPHABET = "ACDEFGHJKMNPQRTUVWXY34679"
CODE_PATTERN = re.compile(r"^[A-Z0-9]{3,8}$")
_TRIES_PER_LENGTH = 4


def normalise_code(text: str) -> str:
    """What a person typed, as stored: upper case, without spaces; "" when it can't be a code."""
    code = (text or "").strip().upper().replace(" ", "")
    return code if CODE_PATTERN.match(code) else ""


def _candidate(length: int) -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(length))


def alert_reply_code(*, alert: Alert) -> str:
    """The alert's code, given now if it has none. Three characters while they are free in
    the tenant, longer once they get crowded; a concurrent caller's code wins (it is read back)."""
    if alert.reply_code:
        return alert.reply_code
    for length in range(3, 9):
        for _ in range(_TRIES_PER_LENGTH):
            code = _candidate(length)
            try:
                with transaction.atomic():
                    updated = Alert.objects.filter(pk=alert.pk, reply_code="").update(reply_code=code)
            except IntegrityError:
                continue  # taken in this tenant: draw again
            if not updated:  # someone gave it one meanwhile
                code = Alert.objects.filter(pk=alert.pk).values_list("reply_code", flat=True).first() or ""
            alert.reply_code = code
            return code
    raise RuntimeError("no free reply code")  # 25**8 codes per tenant: unreachable in practice
