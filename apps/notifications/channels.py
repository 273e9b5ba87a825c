"""Writes for channels (targets, secrets, test messages) and for sites' quiet hours."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time

from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator, URLValidator
from django.db import transaction
from django.utils import timezone

from apps.audit.services import Actor, audit_record
from apps.common.errors import ApplicationError, ConflictError
from apps.common.netguard import DestinationRefused, check_url
from apps.common.phone import phone_number_normalise
from apps.notifications.messages import Message
from apps.notifications.models import Channel, ChannelKind, EscalationStep, Notification, QuietHours
from apps.notifications.providers.base import DESTINATION_REFUSED, NETWORK, DeliveryError
from apps.notifications.providers.registry import provider_for
from apps.notifications.routing import bump_routing_version
from apps.tenancy.models import Site, Tenant

SLACK_CHANNEL_ID = r"^[CGD][A-Z0-9]{6,}$"
INTERNAL_DESTINATION = "This URL points at a private or local address; Tocsin only sends to public addresses."
# What a channel test says about any failure to reach the destination, whatever the cause
# (refused address, closed port, timeout, unknown name): telling them apart would let the
# test endpoint map networks it is not allowed to reach.
UNREACHABLE = "The destination could not be reached."
UNREACHABLE_CODE = "unreachable"


def channel_target_normalise(kind: str, target: str) -> str:
    """Validate and normalise a channel's target; raises ApplicationError naming the field."""
    target = (target or "").strip()

    def invalid(message: str) -> ApplicationError:
        return ApplicationError(message, fields={"target": [message]})

    if kind in (ChannelKind.SMS, ChannelKind.VOICE):
        return phone_number_normalise(target, field="target")
    if kind == ChannelKind.EMAIL:
        addresses = [a.strip() for a in target.split(",") if a.strip()]
        if not addresses or len(addresses) > 20:
            raise invalid("Enter one to twenty email addresses separated by commas.")
        for address in addresses:
            try:
                EmailValidator()(address)
            except ValidationError as exc:
                raise invalid(f"'{address}' is not an email address.") from exc
        return ", ".join(addresses)
    if kind == ChannelKind.MANAGERS:
        return ""  # the addresses are the tenant's owners' and admins', read when it sends
    if kind == ChannelKind.SLACK:
        import re

        if not re.match(SLACK_CHANNEL_ID, target) and not target.startswith("#"):
            raise invalid("Enter a Slack channel id (C0123ABCD) or #channel-name.")
        return target
    if kind == ChannelKind.TEAMS:  # the workflow's URL carries its signature: it is the secret
        if not target or len(target) > 200:
            raise invalid("Name the Teams team and channel this workflow posts to (up to 200 characters).")
        return target
    if kind == ChannelKind.WEBHOOK:
        try:
            URLValidator(schemes=["https", "http"])(target)
        except ValidationError as exc:
            raise invalid("Enter an http(s) URL.") from exc
        try:
            check_url(target)
        except DestinationRefused as exc:
            raise invalid(INTERNAL_DESTINATION) from exc
        return target
    raise ApplicationError("Unknown channel kind.", fields={"kind": ["invalid"]})


def channel_secret_check(kind: str, secret: str) -> None:
    """A Slack channel's secret may be an incoming-webhook URL, a Teams channel's is its
    workflow's URL: ones a tenant chose, so they are refused like a webhook target when they
    plainly point inside (delivery checks again)."""
    if kind == ChannelKind.TEAMS:
        try:
            URLValidator(schemes=["https", "http"])(secret or "")
        except ValidationError as exc:
            message = "Paste the workflow's HTTP POST URL (from Teams: Workflows › Post to a channel when a " \
                      "webhook request is received)."
            raise ApplicationError(message, fields={"secret": [message]}) from exc
    elif kind != ChannelKind.SLACK or not (secret or "").startswith(("http://", "https://")):
        return
    try:
        check_url(secret)
    except DestinationRefused as exc:
        raise ApplicationError(INTERNAL_DESTINATION, fields={"secret": [INTERNAL_DESTINATION]}) from exc


def channel_validate(*, kind: str, target: str, secret: str | None, creating: bool) -> str:
    """The normalised target; raises ApplicationError naming the field (the admin's form calls this too)."""
    target = channel_target_normalise(kind, target)
    if secret is not None:
        channel_secret_check(kind, secret)
    if kind == ChannelKind.TEAMS and creating and not secret:
        channel_secret_check(kind, "")
    if kind == ChannelKind.WEBHOOK and (creating or secret is not None) and len(secret or "") < 16:
        raise ApplicationError("Webhooks need a signing secret of at least 16 characters.",
                               fields={"secret": ["At least 16 characters."]})
    return target


def channel_create(*, tenant: Tenant, name: str, kind: str, target: str, secret: str = "", actor: Actor,
                   enabled: bool = True) -> Channel:
    target = channel_validate(kind=kind, target=target, secret=secret, creating=True)
    channel = Channel(tenant=tenant, name=name, kind=kind, target=target, enabled=enabled)
    channel.secret = secret
    with transaction.atomic():
        channel.save()
        audit_record(tenant=tenant, actor=actor, action="channel.created", target_type="channel",
                     target_id=channel.public_id, details={"kind": kind})
    return channel


def channel_update(*, channel: Channel, actor: Actor, **changes) -> Channel:
    if channel.archived_at is not None:
        raise ConflictError("This channel is archived: it is kept as delivery history and no longer changes.",
                            code="channel_archived")
    secret = changes.pop("secret", None)
    if "target" in changes or secret is not None:
        changes["target"] = channel_validate(kind=channel.kind, target=changes.get("target", channel.target),
                                             secret=secret, creating=False)
    for field, value in changes.items():
        setattr(channel, field, value)
    if secret is not None:
        channel.secret = secret
    with transaction.atomic():
        channel.save()
        bump_routing_version(channel.tenant_id)  # a step's channel may have been disabled
        audit_record(tenant=channel.tenant, actor=actor, action="channel.changed", target_type="channel",
                     target_id=channel.public_id,
                     details={"fields": sorted(changes) + (["secret"] if secret is not None else [])})
    return channel


def channel_in_use_by(channel: Channel) -> list[str]:
    """Names of the policies whose steps page this channel."""
    return sorted(set(EscalationStep.objects.filter(channels=channel).values_list("policy__name", flat=True)))


def channel_delete(*, channel: Channel, actor: Actor) -> None:
    """Refused while a policy step pages it: the step would silently page nobody. A channel
    that has delivered is archived (disabled for good), not deleted, so its history stays."""
    used_by = channel_in_use_by(channel)
    if used_by:
        raise ConflictError(f"Policies page this channel ({', '.join(used_by)}); take it out of their steps or "
                            "disable it instead.", code="channel_in_use")
    with transaction.atomic():
        public_id = channel.public_id
        if Notification.objects.filter(channel=channel).exists():
            # Its deliveries are evidence of who was paged: archive rather than erase them.
            Channel.objects.filter(pk=channel.pk).update(enabled=False, archived_at=timezone.now())
            action = "channel.archived"
        else:
            channel.delete()
            action = "channel.deleted"
        bump_routing_version(channel.tenant_id)
        audit_record(tenant=channel.tenant, actor=actor, action=action, target_type="channel",
                     target_id=public_id, details={"kind": channel.kind})


@dataclass(frozen=True)
class TestResult:
    ok: bool
    provider: str
    provider_message_id: str = ""
    error: str = ""
    code: str = ""


def channel_send_test(*, channel: Channel, actor: Actor) -> TestResult:
    """Sends a real message now, through the provider the channel would use. Network
    failures and refused destinations all answer `unreachable` (see UNREACHABLE); what the
    destination itself answered (a 4xx, a Slack error) is the tenant's own and is shown."""
    provider = provider_for(channel)
    message = Message(subject="[Tocsin] Test notification",
                      text=f"Test from Tocsin: channel '{channel.name}' works. Sent by {actor.label or 'Tocsin'}.",
                      data={"purpose": "test", "channel": channel.public_id})
    try:
        receipt = provider.send(channel, message)
        result = TestResult(ok=True, provider=provider.name, provider_message_id=receipt.provider_message_id)
    except DeliveryError as exc:
        if exc.code in (DESTINATION_REFUSED, NETWORK):
            result = TestResult(ok=False, provider=provider.name, error=UNREACHABLE, code=UNREACHABLE_CODE)
        else:
            result = TestResult(ok=False, provider=provider.name, error=str(exc), code=exc.code)
    audit_record(tenant=channel.tenant, actor=actor, action="channel.tested", target_type="channel",
                 target_id=channel.public_id, details={"ok": result.ok, "code": result.code})
    return result


def quiet_hours_save(*, site: Site, start: time, end: time, enabled: bool, actor: Actor) -> QuietHours:
    """One set of quiet hours per site: create or replace it."""
    if start == end:
        raise ApplicationError("Quiet hours need a start and an end that differ.", fields={"end": ["same as start"]})
    with transaction.atomic():
        hours, created = QuietHours.objects.update_or_create(
            site=site, defaults={"tenant_id": site.tenant_id, "start": start, "end": end, "enabled": enabled})
        audit_record(tenant=site.tenant, actor=actor, action="quiet_hours.saved", target_type="site",
                     target_id=site.public_id, details={"created": created, "enabled": enabled})
    return hours


def quiet_hours_delete(*, quiet_hours: QuietHours, actor: Actor) -> None:
    with transaction.atomic():
        site = quiet_hours.site
        quiet_hours.delete()
        audit_record(tenant=site.tenant, actor=actor, action="quiet_hours.deleted", target_type="site",
                     target_id=site.public_id)


def channel_secrets_rotate() -> int:
    """Re-encrypt every channel secret under the newest key (after adding a key)."""
    from apps.common.crypto import rotate_secret

    rotated = 0
    for channel in Channel.objects.exclude(secret_encrypted="").iterator():
        Channel.objects.filter(pk=channel.pk).update(secret_encrypted=rotate_secret(channel.secret_encrypted))
        rotated += 1
    return rotated
