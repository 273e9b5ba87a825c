"""TOTP two-factor sign-in for the admin (django-otp), required per tenant by its owners.

Invariant: a signed-in person who must use two-factor sign-in reaches no admin page other
than the two-factor pages, sign-out and the password pages, no board page, and no API call
made with their browser session, until this session is verified with a TOTP code. A
person must when they have a confirmed authenticator (they turned it on themselves) or an
active membership of a tenant whose owners require it; such a person without an
authenticator is sent to enrol one (a QR code and the otpauth URI), and the enrolment
counts only once a code from the new authenticator is accepted. Codes are checked by
django-otp, whose throttling slows repeated wrong codes per device.
"""

from __future__ import annotations

import io
from base64 import b32encode

import segno
from django import forms
from django.contrib import admin, messages
from django.db import transaction
from django.http import HttpResponseRedirect, JsonResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from apps.common.errors import error_body
from apps.tenancy.models import Membership
from apps.tenancy.services import _changed

ENROL_NAME = "Authenticator app"


def tenants_requiring(user) -> list:
    return [m.tenant for m in Membership.objects.filter(user=user, tenant__require_two_factor=True,
                                                        tenant__is_active=True).select_related("tenant")]


def two_factor_required(user) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists() or bool(tenants_requiring(user))


def _guarded(request) -> str | None:
    """"page" for the admin and the board, "api" for an API call riding on the browser
    session (no bearer token or API key of its own), None for anything else."""
    path = request.path_info
    if path.startswith("/api/"):
        own = "HTTP_AUTHORIZATION" in request.META or "HTTP_X_API_KEY" in request.META
        return None if own else "api"
    if not path.startswith((reverse("admin:index"), reverse("board"))):
        return None
    exempt = (reverse("admin:login"), reverse("admin:logout"), reverse("admin:jsi18n"),
              reverse("two-factor"), reverse("admin:password_change"))
    return None if path.startswith(exempt) else "page"


class TwoFactorRequiredMiddleware:
    """After django-otp's middleware: sends an unverified person who must use two-factor
    sign-in to the two-factor page before any other admin or board page (an API call on
    their session is refused with 403 `two_factor_required`)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        guarded = _guarded(request)
        user = getattr(request, "user", None) if guarded else None
        if (user is not None and user.is_authenticated and not user.is_verified()
                and two_factor_required(user)):
            if guarded == "api":
                return JsonResponse(error_body("two_factor_required", "Verify this session with your "
                                               "authenticator code at /admin/two-factor/."), status=403)
            target = reverse("two-factor")
            return HttpResponseRedirect(f"{target}?next={request.get_full_path()}" if request.method == "GET"
                                        else target)
        return self.get_response(request)


class CodeForm(forms.Form):
    code = forms.RegexField(r"^\s*\d{6}\s*$", max_length=12, label="Code",
                            error_messages={"invalid": "Enter the 6-digit code your authenticator shows."},
                            widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric",
                                                          "autofocus": True}))


def _audit(user, action: str) -> None:
    for membership in Membership.objects.filter(user=user).select_related("tenant"):
        _changed(tenant=membership.tenant, actor=user, action=action, target_type="user", target_id=str(user.pk))


def _next(request) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return target
    return reverse("admin:index")


def _enrolment_device(user) -> TOTPDevice:
    """The unconfirmed device of an enrolment in progress (one, so reloading keeps the QR)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-pk").first()
    return device or TOTPDevice.objects.create(user=user, name=ENROL_NAME, confirmed=False)


def two_factor_view(request):
    """Verify this session with a code, or enrol an authenticator first (GET shows, POST checks)."""
    if not request.user.is_authenticated or not request.user.is_staff:
        return HttpResponseRedirect(f"{reverse('admin:login')}?next={reverse('two-factor')}")
    user = request.user
    confirmed = list(TOTPDevice.objects.filter(user=user, confirmed=True))
    device = None if confirmed else _enrolment_device(user)
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        code = form.cleaned_data["code"].strip()
        if device is not None and device.verify_token(code):
            with transaction.atomic():
                TOTPDevice.objects.filter(pk=device.pk).update(confirmed=True)
                TOTPDevice.objects.filter(user=user, confirmed=False).delete()
                _audit(user, "user.two_factor_enrolled")
            device.confirmed = True
            otp_login(request, device)
            messages.success(request, "Two-factor sign-in is on for your account.")
            return HttpResponseRedirect(_next(request))
        verified = next((d for d in confirmed if d.verify_token(code)), None)
        if verified is not None:
            otp_login(request, verified)
            return HttpResponseRedirect(_next(request))
        form.add_error("code", "That code is not right, or came too late; try the current one.")
    context = {**admin.site.each_context(request), "title": "Two-factor sign-in", "form": form,
               "next": _next(request), "enrolling": device is not None,
               "required_by": [t.name for t in tenants_requiring(user)]}
    if device is not None:
        context.update({"otpauth_uri": device.config_url, "qr_svg": qr_svg(device.config_url),
                        "secret": _base32(device)})
    response = TemplateResponse(request, "admin/two_factor.html", context)
    response["Cache-Control"] = "no-store"
    return response


def _base32(device: TOTPDevice) -> str:
    return b32encode(device.bin_key).decode()


def qr_svg(payload: str) -> str:
    buffer = io.BytesIO()
    segno.make_qr(payload, error="m").save(buffer, kind="svg", scale=5, xmldecl=False, svgns=True)
    return buffer.getvalue().decode()
