"""Pages people reach from their email: accept an invitation, reset a forgotten password.

Invariant: these pages never say whether an address has an account (a reset request
always answers "sent"), their links work once, and a password set through them bumps the
person's token version, so tokens and sessions from before stop working. Reset requests
are counted per address and per client (TOCSIN_PASSWORD_RESET_RATE); over the limit no
email is sent, and the answer is the same.
"""

from __future__ import annotations

import hashlib
import logging

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import SetPasswordForm
from django.db import transaction
from django.template.response import TemplateResponse
from django.urls import reverse_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from rest_framework.throttling import BaseThrottle

from apps.common import throttling
from apps.common.errors import ApplicationError
from apps.tenancy import account_emails, accounts
from apps.tenancy.token_versions import token_version_bump

logger = logging.getLogger(__name__)


def reset_request_allowed(*, email: str, client_ip: str) -> bool:
    """Count a reset request per address and per client; False once over the limit (or
    when the counters are unreachable: an email costs more to send than a retry later)."""
    limit, period = throttling.parse_rate(settings.TOCSIN_PASSWORD_RESET_RATE)
    email_key = hashlib.sha256(email.strip().casefold().encode()).hexdigest()[:32]
    try:
        return all(throttling.count(f"password-reset:{kind}:{ident}", period) <= limit
                   for kind, ident in (("email", email_key), ("ip", client_ip)))
    except Exception:
        logger.warning("password reset limit store unavailable; no email sent")
        return False


class PasswordResetRequestForm(forms.Form):
    email = forms.EmailField(max_length=254, label="Email")

    def save(self, *, request=None, **kwargs) -> None:
        """Django's PasswordResetView calls this; we send our own email, after the limits."""
        email = self.cleaned_data["email"]
        client_ip = BaseThrottle().get_ident(request) if request is not None else "unknown"
        if not reset_request_allowed(email=email, client_ip=client_ip):
            return
        users = get_user_model().objects.filter(email__iexact=email, is_active=True)
        with transaction.atomic():
            for user in users[:5]:
                if user.has_usable_password():
                    account_emails.password_reset_email_send(user=user)


class VersionBumpingSetPasswordForm(SetPasswordForm):
    def save(self, commit=True):
        with transaction.atomic():
            user = super().save(commit=commit)
            if commit:
                token_version_bump(user=user)
        return user


class PasswordResetView(auth_views.PasswordResetView):
    form_class = PasswordResetRequestForm
    success_url = reverse_lazy("password_reset_done")


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    form_class = VersionBumpingSetPasswordForm
    success_url = reverse_lazy("password_reset_complete")


@never_cache
@csrf_protect
def invite_accept(request, token: str):
    """GET: the set-password form (or why the link no longer works); POST: set it, once."""
    invitation = accounts.invitation_find(token=token)
    if invitation is None:
        return TemplateResponse(request, "accounts/invite_accept.html", {"title": "Invitation"}, status=404)
    form = SetPasswordForm(invitation.membership.user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = accounts.invitation_accept(token=token, password=form.cleaned_data["new_password1"])
        except ApplicationError as exc:
            if exc.status_code == 404:
                return TemplateResponse(request, "accounts/invite_accept.html", {"title": "Invitation"}, status=404)
            form.add_error("new_password1", exc.message)
        else:
            return TemplateResponse(request, "accounts/invite_accept.html",
                                    {"title": "Invitation", "accepted": True, "username": user.username})
    response = TemplateResponse(request, "accounts/invite_accept.html",
                                {"title": "Invitation", "invitation": invitation, "form": form})
    response["Referrer-Policy"] = "no-referrer"  # the link's secret is in the URL
    return response
