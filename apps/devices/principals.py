"""Who is calling when it isn't a person: a device or an API key.

DRF puts the principal in `request.user`; these quack enough like a user for DRF
(authenticated, not staff) while making it impossible to confuse them with one. Each says
how rate limits count it (`throttle_scope`, `throttle_ident`, `throttle_rate`: read by
apps.common.throttling, which cannot import this app).
"""

from __future__ import annotations

from dataclasses import dataclass

from apps.devices.models import SCOPE_ROLES, ApiKey, Device


@dataclass(frozen=True)
class _MachinePrincipal:
    is_authenticated = True
    is_anonymous = False
    is_staff = False
    is_superuser = False
    is_active = True


@dataclass(frozen=True)
class DevicePrincipal(_MachinePrincipal):
    device: Device
    throttle_scope = "device"
    throttle_rate = None  # the scope's rate in settings

    @property
    def throttle_ident(self) -> str:
        return self.device.public_id

    @property
    def pk(self) -> str:
        return self.device.public_id

    @property
    def tenant(self):
        return self.device.tenant

    def get_username(self) -> str:
        return f"device:{self.device.public_id}"


@dataclass(frozen=True)
class ApiKeyPrincipal(_MachinePrincipal):
    """An integration acting for exactly one tenant, limited to its key's scopes."""

    api_key: ApiKey
    is_tenant_principal = True
    throttle_scope = "api_key"

    @property
    def throttle_ident(self) -> str:
        return self.api_key.prefix

    @property
    def throttle_rate(self) -> str:
        """The key's own tier, per minute."""
        return f"{self.api_key.tier}/min"

    @property
    def pk(self) -> str:
        return self.api_key.public_id

    @property
    def tenant(self):
        return self.api_key.tenant

    def get_username(self) -> str:
        return f"api_key:{self.api_key.prefix}"

    def has_scope(self, scope: str) -> bool:
        return self.api_key.has_scope(scope)

    def role_for_scope(self, scope: str) -> str | None:
        """The role this key acts with for `scope`, or None when it lacks the scope."""
        return SCOPE_ROLES.get(scope) if self.has_scope(scope) else None
