"""Microsoft Teams through a Teams workflow ("Post to a channel when a webhook request is
received"): a JSON POST of an Adaptive Card to the workflow's URL.

The URL carries the workflow's signature, so it is kept as the channel's secret; it is a
tenant's, so the request goes through `apps.common.netguard` (vetted public address, no
redirects). Workflows answer 202 Accepted. 408, 429 and 5xx are transient; other 4xx
(a deleted workflow, a bad signature) are permanent.
"""

from __future__ import annotations

import requests
from django.conf import settings

from apps.common.netguard import DestinationRefused, guarded_session
from apps.notifications.messages import Message
from apps.notifications.models import Channel
from apps.notifications.providers.base import (
    DESTINATION_REFUSED,
    NETWORK,
    PermanentError,
    Receipt,
    TransientError,
    retry_after_seconds,
)

CARD_TYPE = "application/vnd.microsoft.card.adaptive"


def adaptive_card(message: Message) -> dict:
    """The card: the subject as its title, the text, the facts, and a button back to the alert."""
    data = message.data
    facts = [{"title": title, "value": str(data[key])} for title, key in
             (("Severity", "severity"), ("Status", "status"), ("Site", "site"), ("Count", "count"))
             if data.get(key) not in (None, "")]
    body = [{"type": "TextBlock", "text": message.subject[:300], "weight": "Bolder", "size": "Medium", "wrap": True},
            {"type": "TextBlock", "text": message.text[:2000], "wrap": True}]
    if facts:
        body.append({"type": "FactSet", "facts": facts})
    card = {"$schema": "http://adaptivecards.io/schemas/adaptive-card.json", "type": "AdaptiveCard",
            "version": "1.4", "body": body}
    if data.get("url"):
        card["actions"] = [{"type": "Action.OpenUrl", "title": "Open in Tocsin", "url": data["url"]}]
    return {"type": "message", "attachments": [{"contentType": CARD_TYPE, "contentUrl": None, "content": card}]}


class TeamsProvider:
    name = "teams"

    def send(self, channel: Channel, message: Message) -> Receipt:
        url = channel.secret
        if not url:
            raise PermanentError("This Teams channel has no workflow URL.", code="no_url")
        try:
            with guarded_session() as session:
                response = session.post(url, json=adaptive_card(message), allow_redirects=False,
                                        timeout=settings.TOCSIN_NOTIFY_PROVIDER_TIMEOUT)
        except DestinationRefused as exc:
            raise PermanentError(f"Teams destination refused: {exc}", code=DESTINATION_REFUSED) from exc
        except (requests.Timeout, requests.ConnectionError) as exc:
            raise TransientError(f"Teams unreachable: {type(exc).__name__}", code=NETWORK) from exc
        if 200 <= response.status_code < 300:
            return Receipt(provider_message_id=response.headers.get("x-ms-workflow-run-id", "")[:100],
                           detail=f"HTTP {response.status_code}")
        if response.status_code in (408, 429) or response.status_code >= 500:
            raise TransientError(f"Teams answered {response.status_code}", code=str(response.status_code),
                                 retry_after=retry_after_seconds(response.headers.get("Retry-After")))
        raise PermanentError(f"Teams refused the card with {response.status_code}", code=str(response.status_code))
