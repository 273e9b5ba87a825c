"""Quiet hours in a site's local time, across midnight and daylight-saving changes."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from apps.common.rawsql import PreparedStatement, hydrate, select_columns
from apps.notifications.models import QuietHours


def _site_hours_sql() -> str:
    return (f"SELECT {select_columns(QuietHours, 'q')} FROM {QuietHours._meta.db_table} q "  # noqa: S608
            f"WHERE q.site_id = $1 AND q.enabled")


# Asked when every non-critical alert at a site is routed: prepared once per connection.
SITE_HOURS_STATEMENT = PreparedStatement("tocsin_quiet_hours", _site_hours_sql, argument_types="bigint")


def quiet_hours_for_site(site_id: int) -> QuietHours | None:
    """The site's enabled quiet hours (one per site at most), or None."""
    row = SITE_HOURS_STATEMENT.fetchone(site_id)
    return hydrate(QuietHours, row) if row is not None else None


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
