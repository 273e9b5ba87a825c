"""Which provider delivers to a channel: the real one when it is configured, else console."""

from __future__ import annotations

from django.conf import settings

from apps.notifications.models import Channel, ChannelKind
from apps.notifications.providers.base import Provider
from apps.notifications.providers.console import ConsoleProvider
from apps.notifications.providers.email import EmailProvider
from apps.notifications.providers.slack import SlackProvider
from apps.notifications.providers.teams import TeamsProvider
from apps.notifications.providers.twilio_sms import TwilioSmsProvider
from apps.notifications.providers.twilio_voice import TwilioVoiceProvider
from apps.notifications.providers.webhook import WebhookProvider


def provider_for(channel: Channel) -> Provider:
    if channel.kind == ChannelKind.SMS:
        return TwilioSmsProvider() if settings.TWILIO_ACCOUNT_SID else ConsoleProvider()
    if channel.kind == ChannelKind.VOICE:
        return TwilioVoiceProvider() if settings.TWILIO_ACCOUNT_SID else ConsoleProvider()
    if channel.kind == ChannelKind.TEAMS:
        return TeamsProvider()
    if channel.kind == ChannelKind.SLACK:
        return SlackProvider() if (channel.has_secret or settings.SLACK_BOT_TOKEN) else ConsoleProvider()
    if channel.kind in (ChannelKind.EMAIL, ChannelKind.MANAGERS):
        return EmailProvider() if settings.EMAIL_ENABLED else ConsoleProvider()
    return WebhookProvider()
