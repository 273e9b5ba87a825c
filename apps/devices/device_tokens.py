"""Device access tokens: simplejwt tokens of their own type, never valid as a person's."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.conf import settings
from rest_framework_simplejwt.tokens import AccessToken

from apps.devices.models import Device

DEVICE_TOKEN_TYPE = "device_access"  # noqa: S105 (a claim value)


class DeviceAccessToken(AccessToken):
    token_type = DEVICE_TOKEN_TYPE

    @property
    def lifetime(self) -> timedelta:  # read per use, so a settings change applies at once
        return timedelta(seconds=settings.DEVICE_TOKEN_LIFETIME_SECONDS)


def issue_device_token(device: Device) -> tuple[str, datetime]:
    """A signed token naming the device, its tenant, site and current token version."""
    token = DeviceAccessToken()
    token["device_id"] = device.public_id
    token["tenant"] = device.tenant.public_id
    token["site"] = device.site.public_id
    token["tv"] = device.token_version
    return str(token), datetime.fromtimestamp(token["exp"], tz=UTC)
