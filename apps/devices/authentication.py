"""DRF authentication for devices (device JWTs) and integrations (API keys).

Both check the database on every request, so a revoked device or key is refused on its
very next call: there is no cache to wait out. What is cached is only what cannot change:
the outcome of verifying one exact token string's signature (its expiry is still checked
on every use), so the device path costs one indexed query and no JWT decoding.
"""

from __future__ import annotations

import time
from datetime import timedelta

from django.utils import timezone
from rest_framework import authentication, exceptions
from rest_framework_simplejwt.exceptions import TokenError

from apps.common.rawsql import PreparedStatement, hydrate, select_columns
from apps.devices.credentials import secret_matches, split_api_key
from apps.devices.device_tokens import DeviceAccessToken
from apps.devices.models import ApiKey, Device, DeviceStatus
from apps.devices.principals import ApiKeyPrincipal, DevicePrincipal
from apps.tenancy.models import Site, Tenant

LAST_USED_RESOLUTION = timedelta(minutes=1)
VERIFIED_TOKENS_MAX = 20_000

# Planning this three-table join cost PostgreSQL more CPU than running it (0.26 ms against
# 0.06 ms per request here), so each connection prepares it once and then EXECUTEs it
# (apps.common.rawsql: prepared again on a connection that lost it).


def _device_sql() -> str:
    return (f"SELECT {select_columns(Device, 'd')}, {select_columns(Tenant, 't')}, {select_columns(Site, 's')} "  # noqa: S608
            f"FROM devices_device d JOIN tenancy_tenant t ON t.id = d.tenant_id "
            f"JOIN tenancy_site s ON s.id = d.site_id WHERE d.public_id = $1")


def _api_key_sql() -> str:
    return (f"SELECT {select_columns(ApiKey, 'k')}, {select_columns(Tenant, 't')} "  # noqa: S608
            f"FROM devices_apikey k JOIN tenancy_tenant t ON t.id = k.tenant_id WHERE k.prefix = $1")


DEVICE_STATEMENT = PreparedStatement("tocsin_device_auth", _device_sql)
API_KEY_STATEMENT = PreparedStatement("tocsin_api_key_auth", _api_key_sql)


def api_key_with_tenant(prefix: str) -> ApiKey | None:
    """One indexed query through a prepared statement: the key with its tenant attached."""
    row = API_KEY_STATEMENT.fetchone(prefix)
    if row is None:
        return None
    width = len(ApiKey._meta.concrete_fields)
    api_key = hydrate(ApiKey, row[:width])
    ApiKey._meta.get_field("tenant").set_cached_value(api_key, hydrate(Tenant, row[width:]))
    return api_key


def device_with_tenant_and_site(public_id: str) -> Device | None:
    """One indexed query: the device with its tenant and site attached, as select_related would."""
    row = DEVICE_STATEMENT.fetchone(public_id)
    if row is None:
        return None
    first, second = len(Device._meta.concrete_fields), len(Device._meta.concrete_fields) + len(
        Tenant._meta.concrete_fields)
    device = hydrate(Device, row[:first])
    Device._meta.get_field("tenant").set_cached_value(device, hydrate(Tenant, row[first:second]))
    Device._meta.get_field("site").set_cached_value(device, hydrate(Site, row[second:]))
    return device


# --- device tokens --------------------------------------------------------------------------------

_verified: dict[str, tuple[float, dict]] = {}


def _device_claims(raw: str) -> dict:
    """The claims of a device token whose signature checked out, from memory if this exact
    string was verified before; the expiry is checked on every use all the same."""
    cached = _verified.get(raw)
    if cached is not None:
        expires, claims = cached
        if expires > time.time():
            return claims
        _verified.pop(raw, None)
        raise exceptions.AuthenticationFailed()
    try:
        token = DeviceAccessToken(raw)
    except TokenError as exc:
        raise exceptions.AuthenticationFailed() from exc
    claims = dict(token.payload)
    if len(_verified) >= VERIFIED_TOKENS_MAX:
        _verified.clear()
    _verified[raw] = (float(claims["exp"]), claims)
    return claims


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
        claims = _device_claims(raw)
        device_id = claims.get("device_id")
        device = device_with_tenant_and_site(device_id) if isinstance(device_id, str) else None
        if (device is None or device.status != DeviceStatus.ACTIVE
                or device.token_version != claims.get("tv") or not device.tenant.is_active):
            raise exceptions.AuthenticationFailed()
        return DevicePrincipal(device=device), claims

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
        api_key = api_key_with_tenant(prefix)
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
