"""Signed action links in emailed pages: "Acknowledge" / "Resolve" without signing in.

Invariant: a link acts for one person, on one alert of one tenant, once, before it
expires. The token is signed with the platform's key (`django.core.signing`, with its own
salt) and carries its issue time; it names the alert, the person, the tenant, the action
and a random nonce. Spending the nonce (apps.responses) is what makes it single-use:
the database refuses a second spend. A link is only ever put in an email to a person's
own channel, since whoever holds the link acts as that person.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from django.conf import settings
from django.core import signing

from apps.alerts.models import Alert

SALT = "tocsin.notifications.action-link"
ACTIONS = ("acknowledge", "resolve")
PATH = "/respond/email/"


@dataclass(frozen=True)
class ActionLink:
    alert_public_id: str
    user_id: int
    tenant_id: int
    action: str
    nonce: str


class LinkExpired(Exception):
    pass


class LinkInvalid(Exception):
    pass


def make_token(*, alert: Alert, user_id: int, action: str) -> str:
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}")
    payload = {"a": alert.public_id, "u": user_id, "t": alert.tenant_id, "x": action, "n": secrets.token_hex(12)}
    return signing.dumps(payload, salt=SALT, compress=True)


def link_url(token: str) -> str:
    return f"{settings.TOCSIN_PUBLIC_BASE_URL.rstrip('/')}{PATH}{token}/"


def read_token(token: str) -> ActionLink:
    """The link's content; LinkExpired past `TOCSIN_ACTION_LINK_MAX_AGE_HOURS`, LinkInvalid
    for anything not signed by us (or malformed)."""
    if not token or len(token) > 400:
        raise LinkInvalid("malformed")
    try:
        data = signing.loads(token, salt=SALT, max_age=settings.TOCSIN_ACTION_LINK_MAX_AGE_HOURS * 3600)
    except signing.SignatureExpired as exc:
        raise LinkExpired("expired") from exc
    except (signing.BadSignature, ValueError, UnicodeError) as exc:
        raise LinkInvalid("bad signature") from exc
    try:
        link = ActionLink(alert_public_id=str(data["a"]), user_id=int(data["u"]), tenant_id=int(data["t"]),
                          action=str(data["x"]), nonce=str(data["n"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise LinkInvalid("incomplete") from exc
    if link.action not in ACTIONS:
        raise LinkInvalid("unknown action")
    return link


def email_lines(alert: Alert, *, user_id: int) -> list[str]:
    """The lines an emailed page to this person ends with."""
    hours = settings.TOCSIN_ACTION_LINK_MAX_AGE_HOURS
    return [
        "",
        f"Acknowledge: {link_url(make_token(alert=alert, user_id=user_id, action='acknowledge'))}",
        f"Resolve: {link_url(make_token(alert=alert, user_id=user_id, action='resolve'))}",
        f"(Each link works once, within {hours} hours, and asks you to confirm.)",
    ]
