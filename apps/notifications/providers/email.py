"""Email through Django's email backend (SMTP in production, from EMAIL_URL).

SMTP 4xx replies, disconnects and timeouts are transient; 5xx replies (unknown mailbox,
refused sender) are permanent.
"""

from __future__ import annotations

import smtplib

from django.conf import settings
from django.core.mail import EmailMessage, get_connection

from apps.notifications.messages import Message
from apps.notifications.models import Channel, ChannelKind
from apps.notifications.providers.base import NETWORK, PermanentError, Receipt, TransientError
from apps.tenancy.models import MANAGER_ROLES, Membership


def recipients(channel: Channel) -> list[str]:
    if channel.kind == ChannelKind.MANAGERS:
        return manager_addresses(channel.tenant_id)
    return [address.strip() for address in channel.target.split(",") if address.strip()]


def manager_addresses(tenant_id: int) -> list[str]:
    """The tenant's owners' and admins' addresses, as they are now."""
    return sorted(set(Membership.objects.filter(tenant_id=tenant_id, role__in=MANAGER_ROLES)
                      .exclude(user__email="").values_list("user__email", flat=True)))


def _classify(code: int, text: str) -> Exception:
    if 400 <= code < 500:
        return TransientError(f"SMTP {code}: {text}"[:200], code=str(code))
    return PermanentError(f"SMTP {code}: {text}"[:200], code=str(code))


class EmailProvider:
    name = "email"

    def send(self, channel: Channel, message: Message) -> Receipt:
        to = recipients(channel)
        if not to:
            raise PermanentError("No owner or admin of this tenant has an email address.", code="no_recipients")
        connection = get_connection(timeout=settings.EMAIL_TIMEOUT)
        email = EmailMessage(subject=message.subject, body=message.text, to=to, connection=connection)
        try:
            email.send(fail_silently=False)
        except smtplib.SMTPRecipientsRefused as exc:
            code, text = next(iter(exc.recipients.values()))
            raise _classify(code, text.decode(errors="replace") if isinstance(text, bytes) else str(text)) from exc
        except smtplib.SMTPResponseException as exc:
            raise _classify(exc.smtp_code, str(exc.smtp_error)) from exc
        except OSError as exc:  # disconnects, timeouts, refused connections (SMTPException is an OSError)
            raise TransientError(f"SMTP unreachable: {type(exc).__name__}", code=NETWORK) from exc
        return Receipt(provider_message_id=email.extra_headers.get("Message-ID", ""), detail="smtp accepted")
