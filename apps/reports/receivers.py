"""Answers to lower apps' history questions: reports generated for a site keep it."""

from __future__ import annotations

from apps.reports.models import Report


def site_history(sender, site, **kwargs) -> int:
    return int(Report.objects.filter(site=site).exists())
