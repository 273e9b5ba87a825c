"""DRF authentication for devices (device JWTs) and integrations (API keys).

Both check the database on every request, so a revoked device or key is refused on its
very next call: there is no cache to wait out.
"""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from rest_framework import authentication, exceptions
from rest_framework_simplejwt.exceptions import TokenError

from apps.devices.credentials import secret_matches, split_api_key
from apps.devices.device_tokens import DeviceAccessToken
from apps.devices.models import ApiKey, Device, DeviceStatus
from apps.devices.principals import ApiKeyPrincipal, DevicePrincipal

LAST_USED_RESOLUTION = timedelta(minutes=1)


def _bearer(request) -> str | None:
    header = authentication.get_authorization_header(request).decode("latin-1")
    parts = header.split()
    if len(parts) != 2 or parts[0].lower() != "bearer":
        return None
    return parts[1]


class DeviceTokenAuthentication(authentication.BaseAuthentication):
    """`Authorization: Bearer <device token>`; refuses stale versions and revoked devices."""

    def authenticate(self, request):
        raw = _bearer(request)
        if raw is None or raw.startswith("tk_"):
            return None
        try:
            token = DeviceAccessToken(raw)
        except TokenError as exc:
            raise exceptions.AuthenticationFailed() from exc
        device = (Device.objects.select_related("tenant", "site")
                  .filter(public_id=token.get("device_id")).first())
        if (device is None or device.status != DeviceStatus.ACTIVE
                or device.token_version != token.get("tv") or not device.tenant.is_active):
            raise exceptions.AuthenticationFailed()
        return DevicePrincipal(device=device), token

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="device"'


class ApiKeyAuthentication(authentication.BaseAuthentication):
    """`Authorization: Bearer tk_…` or `X-Api-Key: tk_…`: one indexed lookup by prefix."""

    def authenticate(self, request):
        presented = request.headers.get("X-Api-Key") or _bearer(request)
        if not presented or not presented.startswith("tk_"):
            return None
        parts = split_api_key(presented)
        if parts is None:
            raise exceptions.AuthenticationFailed()
        prefix, secret = parts
        api_key = ApiKey.objects.select_related("tenant").filter(prefix=prefix).first()
        if api_key is None or not secret_matches(secret, api_key.key_hash) or not api_key.is_usable:
            raise exceptions.AuthenticationFailed()
        _touch_last_used(api_key)
        return ApiKeyPrincipal(api_key=api_key), api_key

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="api"'


def _touch_last_used(api_key: ApiKey) -> None:
    """At most one write a minute per key, however busy it is."""
    now = timezone.now()
    if api_key.last_used_at and now - api_key.last_used_at < LAST_USED_RESOLUTION:
        return
    ApiKey.objects.filter(pk=api_key.pk).exclude(last_used_at__gt=now - LAST_USED_RESOLUTION).update(
        last_used_at=now
    )
