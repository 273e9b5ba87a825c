"""Slack's buttons on a page: verified, mapped to a person, acted on, the message updated.

Invariant: a press acts only when Slack signed it (the app's signing secret, a timestamp
within five minutes: `slack_sdk.signature.SignatureVerifier`) and only once (its signature
is spent, so a replay inside the window changes nothing), as the person whose Slack contact
method in the alert's own tenant is the presser's Slack user id. A presser linked in no
such tenant, or pressing on an alert of another tenant, is told how to link and changes
nothing. The message is then updated in place through the press's `response_url` (Slack's
own, opened through netguard like any outgoing request).
"""

from __future__ import annotations

import hashlib
import json
import logging

import requests
from django.conf import settings
from django.db import transaction
from slack_sdk.signature import SignatureVerifier

from apps.alerts.models import Alert
from apps.common.netguard import DestinationRefused, guarded_session
from apps.notifications.page_actions import SLACK_ACTIONS
from apps.notifications.providers.slack import ACTION_PREFIX, ACTIONS_BLOCK
from apps.responses import actions, nonces, people
from apps.responses.models import NonceScope

logger = logging.getLogger(__name__)
HOW_TO_LINK = ("Your Slack account isn't linked to Tocsin yet, so nothing was changed. In Slack open your profile, "
               "choose ⋮ › Copy member ID, and add it in Tocsin as a Slack contact method (or ask your Tocsin admin).")


def request_is_authentic(*, body: bytes, timestamp: str, signature: str) -> bool:
    """Signed by Slack within the window, and not seen before (the signature is spent)."""
    secret = settings.SLACK_SIGNING_SECRET
    if not secret or not timestamp or not signature or not timestamp.isdigit() or len(signature) > 100:
        return False
    if not SignatureVerifier(secret).is_valid(body=body, timestamp=timestamp, signature=signature):
        return False
    digest = hashlib.sha256(signature.encode()).hexdigest()
    return nonces.spend(scope=NonceScope.SLACK, nonce=digest)


def parse_press(payload_text: str) -> dict | None:
    """The press's essentials, or None when it is not one of our buttons."""
    try:
        payload = json.loads(payload_text or "")
    except (ValueError, RecursionError):  # not JSON, or nested past what the parser takes
        return None
    if not isinstance(payload, dict) or payload.get("type") != "block_actions":
        return None
    pressed = payload.get("actions") or []
    first = pressed[0] if isinstance(pressed, list) and pressed and isinstance(pressed[0], dict) else {}
    action = str(first.get("action_id") or "").removeprefix(ACTION_PREFIX)
    user = payload.get("user") if isinstance(payload.get("user"), dict) else {}
    if action not in SLACK_ACTIONS or not user.get("id"):
        return None
    message = payload.get("message") if isinstance(payload.get("message"), dict) else {}
    return {"action": action, "alert": str(first.get("value") or "")[:40], "user": str(user["id"])[:40],
            "response_url": str(payload.get("response_url") or "")[:500], "blocks": message.get("blocks") or []}


def _updated_blocks(blocks: list, text: str) -> list:
    """The original message without its buttons, with who did what underneath."""
    kept = [b for b in blocks if isinstance(b, dict) and b.get("block_id") != ACTIONS_BLOCK
            and b.get("type") != "actions"][:20]
    return [*kept, {"type": "context", "elements": [{"type": "mrkdwn", "text": text[:2900]}]}]


def _respond(response_url: str, body: dict) -> None:
    if not response_url.startswith(("https://", "http://")):
        return
    try:
        with guarded_session() as session:
            answer = session.post(response_url, json=body, allow_redirects=False,
                                  timeout=settings.TOCSIN_NOTIFY_PROVIDER_TIMEOUT)
        if answer.status_code >= 300:
            logger.warning("slack response_url refused the update", extra={"status": answer.status_code})
    except (DestinationRefused, requests.RequestException) as exc:
        logger.warning("slack response_url unreachable", extra={"error": type(exc).__name__})


def handle_press(press: dict) -> actions.Outcome:
    alert = Alert.objects.select_related("tenant", "site").filter(public_id=press["alert"]).first()
    user = people.person_for_slack(tenant_id=alert.tenant_id, slack_user_id=press["user"]) if alert else None
    if user is None:
        outcome = actions.Outcome(False, HOW_TO_LINK)
        transaction.on_commit(lambda: _respond(press["response_url"], {
            "response_type": "ephemeral", "replace_original": False, "text": HOW_TO_LINK}))
        return outcome
    outcome = actions.act(alert=alert, user=user, action=press["action"], via="slack")
    if outcome.ok:
        body = {"replace_original": True, "text": outcome.text,
                "blocks": _updated_blocks(press["blocks"], outcome.text)}
    else:
        body = {"response_type": "ephemeral", "replace_original": False, "text": outcome.text}
    transaction.on_commit(lambda: _respond(press["response_url"], body))
    return outcome
