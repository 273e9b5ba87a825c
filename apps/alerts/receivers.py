"""Answers to lower apps' history questions: alerts raised about a device or at a site."""

from __future__ import annotations

from apps.alerts.models import Alert


def device_history(sender, device, **kwargs) -> int:
    return int(Alert.objects.filter(device=device).exists())


def site_history(sender, site, **kwargs) -> int:
    return int(Alert.objects.filter(site=site).exists())
