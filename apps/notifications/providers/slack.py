"""Slack through the official `slack_sdk`: a bot token (the channel's own, or the
platform's) with chat.postMessage, or an incoming-webhook URL kept as the channel secret.

Permanent: invalid_auth, token_revoked, account_inactive, channel_not_found, not_in_channel
and other `ok: false` answers. Transient: 429 `ratelimited` (with Retry-After), 5xx,
timeouts and connection errors. The SDK's own retry handlers are disabled so our outbox,
and only it, decides about retries.

An incoming-webhook URL is a tenant's, and the API base a setting: both are opened through
`apps.common.netguard`'s urllib opener (the SDK speaks urllib), so the connection goes
only to a vetted public address and a redirect is answered, never followed. The SDK has
no parameter for an opener; the two clients below replace the one method that opens the
request, and keep everything the SDK does around it (headers, errors, response parsing).
"""

from __future__ import annotations

import urllib.error
from urllib.request import Request

from django.conf import settings
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.webhook import WebhookClient, WebhookResponse

from apps.common.netguard import DestinationRefused, guarded_opener
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


class _GuardedWebClient(WebClient):
    def _perform_urllib_http_request_internal(self, url: str, req: Request) -> dict:
        response = guarded_opener(self.ssl).open(req, timeout=self.timeout)
        charset = response.headers.get_content_charset() or "utf-8"
        return {"status": response.code, "headers": response.headers, "body": response.read().decode(charset)}


class _GuardedWebhookClient(WebhookClient):
    def _perform_http_request_internal(self, url: str, req: Request) -> WebhookResponse:
        response = guarded_opener(self.ssl).open(req, timeout=self.timeout)
        charset = response.headers.get_content_charset() or "utf-8"
        return WebhookResponse(url=url, status_code=response.status, body=response.read().decode(charset),
                               headers=response.headers)


ACTION_PREFIX = "tocsin_"  # action_id of a page's buttons: tocsin_acknowledge, ..._resolve, ..._snooze
ACTIONS_BLOCK = "tocsin_actions"
_BUTTON_LABELS = {"acknowledge": ("Acknowledge", "primary"), "resolve": ("Resolve", None),
                  "snooze": ("Snooze 30 min", None)}


def action_buttons(alert_public_id: str, actions: list[str]) -> dict:
    """The page's buttons; the value names the alert, the press is mapped to a person by Slack user id."""
    elements = []
    for action in actions:
        label, style = _BUTTON_LABELS[action]
        button = {"type": "button", "action_id": f"{ACTION_PREFIX}{action}", "value": alert_public_id,
                  "text": {"type": "plain_text", "text": label}}
        if style:
            button["style"] = style
        elements.append(button)
    return {"type": "actions", "block_id": ACTIONS_BLOCK, "elements": elements}


def _blocks(message: Message) -> list[dict]:
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": message.text[:2900]}}]
    if message.data.get("actions") and message.data.get("alert_id"):
        blocks.append(action_buttons(message.data["alert_id"], message.data["actions"]))
    return blocks


class SlackProvider:
    name = "slack"

    def send(self, channel: Channel, message: Message) -> Receipt:
        secret = channel.secret
        if secret.startswith(("http://", "https://")):
            return self._send_webhook(secret, message)
        return self._send_api(channel, secret or settings.SLACK_BOT_TOKEN, message)

    def _send_api(self, channel: Channel, token: str, message: Message) -> Receipt:
        client = _GuardedWebClient(token=token, base_url=settings.SLACK_API_BASE_URL,
                                   timeout=int(settings.TOCSIN_NOTIFY_PROVIDER_TIMEOUT), retry_handlers=[])
        try:
            response = client.chat_postMessage(channel=channel.target, text=message.text, blocks=_blocks(message))
        except DestinationRefused as exc:
            raise PermanentError(f"Slack API destination refused: {exc}", code=DESTINATION_REFUSED) from exc
        except SlackApiError as exc:
            status = exc.response.status_code
            error = (exc.response.data or {}).get("error", "") if isinstance(exc.response.data, dict) else ""
            if status == 429 or status >= 500:
                raise TransientError(f"Slack answered {status} {error}".strip(), code=error or str(status),
                                     retry_after=retry_after_seconds(exc.response.headers.get("Retry-After"))
                                     ) from exc
            raise PermanentError(f"Slack refused the message: {error or status}", code=error or str(status)) from exc
        except (SlackClientError, urllib.error.URLError, TimeoutError, OSError) as exc:
            raise TransientError(f"Slack unreachable: {type(exc).__name__}", code=NETWORK) from exc
        return Receipt(provider_message_id=str(response.get("ts", "")), detail=str(response.get("channel", "")))

    def _send_webhook(self, url: str, message: Message) -> Receipt:
        client = _GuardedWebhookClient(url, timeout=int(settings.TOCSIN_NOTIFY_PROVIDER_TIMEOUT), retry_handlers=[])
        try:
            response = client.send(text=message.text, blocks=_blocks(message))
        except DestinationRefused as exc:
            raise PermanentError(f"Slack webhook destination refused: {exc}", code=DESTINATION_REFUSED) from exc
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            raise TransientError(f"Slack webhook unreachable: {type(exc).__name__}", code=NETWORK) from exc
        if response.status_code == 200:
            return Receipt(provider_message_id="", detail="webhook ok")
        if response.status_code == 429 or response.status_code >= 500:
            raise TransientError(f"Slack webhook answered {response.status_code}", code=str(response.status_code),
                                 retry_after=retry_after_seconds((response.headers or {}).get("Retry-After")))
        raise PermanentError(f"Slack webhook refused: {response.body}"[:200], code=str(response.status_code))
