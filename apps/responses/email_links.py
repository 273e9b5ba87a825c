"""Following an emailed action link: look (GET) changes nothing, confirm (POST) acts once.

Invariant: mail scanners and link previews fetch every link, so a GET only shows what the
link would do; the POST from that page acts, spending the link's nonce in the same
transaction, so a second use, or a concurrent one, changes nothing. A link acts on its own
alert, in its own tenant, as its own person, and only while that person may act on it.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import transaction

from apps.alerts.models import Alert
from apps.notifications.action_links import ActionLink, LinkExpired, LinkInvalid, read_token
from apps.responses import actions, nonces, people
from apps.responses.models import NonceScope

EXPIRED = "This link has expired. Open the alert on the board instead."
USED = "This link has been used already. Open the alert on the board to see where it stands."
INVALID = "This link is not valid."


@dataclass(frozen=True)
class LinkView:
    """What the page shows: a refusal (with its HTTP status) or the alert and its action."""

    status: int
    message: str = ""
    alert: Alert | None = None
    action: str = ""
    link: ActionLink | None = None


def inspect_link(token: str) -> LinkView:
    try:
        link = read_token(token)
    except LinkExpired:
        return LinkView(410, EXPIRED)
    except LinkInvalid:
        return LinkView(404, INVALID)
    alert = (Alert.objects.select_related("tenant", "site")
             .filter(public_id=link.alert_public_id, tenant_id=link.tenant_id).first())
    if alert is None:
        return LinkView(404, INVALID)
    if nonces.is_spent(scope=NonceScope.EMAIL_LINK, nonce=link.nonce):
        return LinkView(410, USED, alert=alert)
    return LinkView(200, alert=alert, action=link.action, link=link)


def follow_link(token: str) -> LinkView:
    """The POST: act, or say why not."""
    view = inspect_link(token)
    if view.status != 200:
        return view
    user = get_user_model().objects.filter(pk=view.link.user_id).first()
    with transaction.atomic():
        if not nonces.spend(scope=NonceScope.EMAIL_LINK, nonce=view.link.nonce):
            return LinkView(410, USED, alert=view.alert)
        if user is None:
            return LinkView(403, "This link's person no longer exists in Tocsin.", alert=view.alert)
        outcome = actions.act(alert=view.alert, user=user, action=view.action, via="email")
        if not outcome.ok:
            transaction.set_rollback(True)  # refused: the link is not spent
            return LinkView(403, outcome.text, alert=view.alert)
    return LinkView(200, outcome.text, alert=view.alert, action=view.action)


def person_label(view: LinkView) -> str:
    user = get_user_model().objects.filter(pk=view.link.user_id).first() if view.link else None
    return people.display_name(user) if user else ""
