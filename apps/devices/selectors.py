"""Reads for devices, setup tokens and API keys; every one takes the tenant."""

from __future__ import annotations

from django.db.models import QuerySet

from apps.devices.models import ApiKey, Device, DeviceCommand, SetupToken
from apps.tenancy.models import Tenant


def device_list(*, tenant: Tenant) -> QuerySet[Device]:
    return Device.objects.for_tenant(tenant).select_related("site")


def setup_token_list(*, tenant: Tenant) -> QuerySet[SetupToken]:
    return SetupToken.objects.for_tenant(tenant).select_related("site")


def api_key_list(*, tenant: Tenant) -> QuerySet[ApiKey]:
    return ApiKey.objects.for_tenant(tenant)


def command_list(*, tenant: Tenant) -> QuerySet[DeviceCommand]:
    return DeviceCommand.objects.for_tenant(tenant).select_related("device")
