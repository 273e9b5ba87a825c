"""Quiet hours in a site's local time, across midnight and daylight-saving changes."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo


def quiet_until(hours, timezone_name: str, now: datetime) -> datetime | None:
    """When the current quiet period ends (UTC-aware), or None if it isn't quiet now."""
    zone = ZoneInfo(timezone_name)
    local = now.astimezone(zone)
    start, end = hours.start, hours.end
    today = local.date()
    if start == end:
        return None
    if start < end:  # e.g. 01:00-06:00, within one day
        if start <= local.time() < end:
            return datetime.combine(today, end, tzinfo=zone).astimezone(now.tzinfo)
        return None
    # across midnight, e.g. 22:00-07:00
    if local.time() >= start:
        return datetime.combine(today + timedelta(days=1), end, tzinfo=zone).astimezone(now.tzinfo)
    if local.time() < end:
        return datetime.combine(today, end, tzinfo=zone).astimezone(now.tzinfo)
    return None
