"""The emails of self-service accounts: an invitation, a notice of being added, a password reset.

Invariant: an email is sent only after the transaction that made its link valid commits
(a rolled-back invitation never reaches an inbox), through Django's email backend (the
console backend in development), and its secret appears in the email only: never in a
log line or an audit entry. Links are built on TOCSIN_PUBLIC_BASE_URL, never on the Host
header of the request that caused them.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

logger = logging.getLogger(__name__)


def _url(path: str) -> str:
    return settings.TOCSIN_PUBLIC_BASE_URL.rstrip("/") + path


def _send_after_commit(*, to: str, subject: str, body: str, kind: str) -> None:
    def send() -> None:
        try:
            send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [to])
        except Exception:  # the change stands; the manager can send it again
            logger.warning("account email not sent", extra={"email_kind": kind}, exc_info=True)

    transaction.on_commit(send)


def invitation_email_send(*, invitation, secret: str, inviter_label: str) -> None:
    link = _url(reverse("account-invite", kwargs={"token": secret}))
    hours = settings.TOCSIN_INVITE_TTL_HOURS
    body = (f"{inviter_label} invited you to {invitation.tenant.name} on Tocsin "
            f"({invitation.membership.get_role_display().lower()}).\n\n"
            f"Choose your password here (the link works once, within {hours} hours):\n{link}\n\n"
            f"Your username is: {invitation.membership.user.username}\n")
    _send_after_commit(to=invitation.email, subject=f"[Tocsin] You are invited to {invitation.tenant.name}",
                       body=body, kind="invitation")


def added_email_send(*, membership, inviter_label: str) -> None:
    """For someone who already has a password: nothing to set, only where to sign in."""
    body = (f"{inviter_label} added you to {membership.tenant.name} on Tocsin "
            f"({membership.get_role_display().lower()}).\n\nSign in at {_url(reverse('admin:login'))} "
            f"as {membership.user.username}.\n")
    _send_after_commit(to=membership.user.email, subject=f"[Tocsin] You were added to {membership.tenant.name}",
                       body=body, kind="added")


def password_reset_link(user) -> str:
    """Django's reset link: single use (the token covers the password hash and last login)
    and valid for PASSWORD_RESET_TIMEOUT."""
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    return _url(reverse("password_reset_confirm", kwargs={"uidb64": uid, "token": token}))


def password_reset_email_send(*, user, requested_by: str | None = None) -> None:
    minutes = settings.PASSWORD_RESET_TIMEOUT // 60
    who = f"{requested_by} asked for a password reset for you" if requested_by else (
        "Someone (hopefully you) asked to reset your password")
    body = (f"{who} on Tocsin.\n\nChoose a new password here (the link works once, within {minutes} minutes):\n"
            f"{password_reset_link(user)}\n\nYour username is: {user.username}\n"
            "If you did not ask for this, ignore this email: your password stays as it is.\n")
    _send_after_commit(to=user.email, subject="[Tocsin] Reset your password", body=body, kind="password_reset")
