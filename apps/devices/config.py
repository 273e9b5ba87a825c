"""What a device is told at start (`GET /devices/me/`): intervals, batching, thresholds.

Defaults come from settings; higher apps (the rule engine) contribute their per-site
values through `register_config_provider`, since this app may not import them; the
config keys of the device's desired shadow document come last and win.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings

from apps.devices.models import Device
from apps.devices.shadows import device_config_overrides

ConfigProvider = Callable[[Device], dict[str, Any]]
_providers: list[ConfigProvider] = []


def register_config_provider(provider: ConfigProvider) -> None:
    if provider not in _providers:
        _providers.append(provider)


def device_config(device: Device) -> dict[str, Any]:
    config = dict(settings.TOCSIN_DEVICE_DEFAULTS)
    config["scan_hash_key"] = device.tenant.scan_hash_key
    config["allowed_bssids"] = list(device.desired_state.get("allowed_bssids", []))
    for provider in _providers:
        config.update(provider(device))
    config.update(device_config_overrides(device))  # staff's per-device wish wins over the site's
    return config
