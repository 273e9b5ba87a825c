"""Who each rate limit counts (rates in settings.TOCSIN_RATE_LIMITS; the counting, and
what happens while Redis is down, in apps.common.rate_limits).

Enrolment is counted per client IP and renewal per device, so a fleet renewing behind one
NAT address is not held back by the enrolment limit; both fail closed. What devices
report is counted per device, people per user, API keys per key at the key's own tier;
those fail open. A refusal is a 429 with `Retry-After` saying when the window ends.
"""

from __future__ import annotations

import re

from apps.common.rate_limits import ClientIpThrottle, FixedWindowThrottle
from apps.devices.principals import ApiKeyPrincipal, DevicePrincipal

# A renewal names its device in the body, before anything is authenticated.
_CLAIMED_DEVICE_ID = re.compile(r"^[a-z]{2,5}_[a-z0-9]{10,32}$")
_CLAIMED_HARDWARE_ID = re.compile(r"^[A-Za-z0-9:._-]{3,128}$")


class EnrollmentRateThrottle(ClientIpThrottle):
    scope = "enroll"
    fail_closed = True


class RenewalRateThrottle(FixedWindowThrottle):
    """Per device named in the body (`device_id`, or the legacy `deviceId`); a body that
    names none is counted per client IP under the same scope."""

    scope = "renew"
    fail_closed = True
    body_field = "device_id"
    pattern = _CLAIMED_DEVICE_ID

    def identity(self, request, view) -> str | None:
        data = request.data
        claimed = data.get(self.body_field) if isinstance(data, dict) else None
        if isinstance(claimed, str) and self.pattern.match(claimed):
            return f"device:{claimed}"
        return f"ip:{self.get_ident(request)}"


class LegacyRenewalRateThrottle(RenewalRateThrottle):
    body_field = "deviceId"
    pattern = _CLAIMED_HARDWARE_ID


class DeviceRateThrottle(FixedWindowThrottle):
    scope = "device"

    def identity(self, request, view) -> str | None:
        user = request.user
        return user.device.public_id if isinstance(user, DevicePrincipal) else None


class UserRateThrottle(FixedWindowThrottle):
    scope = "user"

    def identity(self, request, view) -> str | None:
        user = request.user
        if isinstance(user, (DevicePrincipal, ApiKeyPrincipal)) or not user.is_authenticated:
            return None
        return str(user.pk)


class AnonRateThrottle(FixedWindowThrottle):
    scope = "anon"

    def identity(self, request, view) -> str | None:
        return None if request.user.is_authenticated else self.get_ident(request)


class ApiKeyRateThrottle(FixedWindowThrottle):
    scope = "api_key"

    def identity(self, request, view) -> str | None:
        user = request.user
        return user.api_key.prefix if isinstance(user, ApiKeyPrincipal) else None

    def rate(self, request, view) -> str:
        return f"{request.user.api_key.tier}/min"
