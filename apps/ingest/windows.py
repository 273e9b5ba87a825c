"""When a rule judges a reading: always, in the site's business hours, or in daylight.

Invariant: a window is decided by the reading's own timestamp in the site's timezone, never
by the time it arrived, so a late batch is judged as it would have been on time. Daylight is
sunrise to sunset at the site's coordinates (astral); a site without coordinates has no
daylight window and such a rule judges every reading, which the admin warns about.
"""

from __future__ import annotations

import functools
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from astral import Observer
from astral.sun import sun

from apps.ingest.plant_models import RuleWindow
from apps.tenancy.models import Site


@functools.lru_cache(maxsize=4096)
def daylight(latitude: float, longitude: float, day: date, tz_name: str) -> tuple[datetime, datetime] | None:
    """(sunrise, sunset) on `day` in the site's timezone; None when the sun never rises
    (polar night). Cached: every reading of a plant on one day asks the same question."""
    tz = ZoneInfo(tz_name)
    try:
        times = sun(Observer(latitude=latitude, longitude=longitude), date=day, tzinfo=tz)
    except ValueError:
        # astral refuses days without a sunrise or a sunset: midnight sun or polar night.
        noon = sun_elevation_at_noon(latitude, longitude, day, tz)
        if noon > 0:
            return (datetime.combine(day, time.min, tz), datetime.combine(day, time.max, tz))
        return None
    return times["sunrise"], times["sunset"]


def sun_elevation_at_noon(latitude: float, longitude: float, day: date, tz: ZoneInfo) -> float:
    from astral.sun import elevation

    return elevation(Observer(latitude=latitude, longitude=longitude), datetime.combine(day, time(12), tz))


def in_business_hours(business_hours: dict, local: datetime) -> bool:
    """`business_hours` maps ISO weekdays ("1".."7") to [[open, close], ...] in local time."""
    clock = local.strftime("%H:%M")
    return any(opens <= clock < closes for opens, closes in business_hours.get(str(local.isoweekday()), []))


class SiteWindows:
    """One site's windows, asked once per reading by the rules of a batch."""

    def __init__(self, site: Site) -> None:
        self.site = site
        self.tz = site.zoneinfo

    def contains(self, window: str, ts: datetime) -> bool:
        if window == RuleWindow.ALWAYS or not window:
            return True
        local = ts.astimezone(self.tz)
        if window == RuleWindow.BUSINESS_HOURS:
            return in_business_hours(self.site.business_hours or {}, local)
        if not self.site.has_coordinates:
            return True
        span = daylight(self.site.latitude, self.site.longitude, local.date(), self.site.timezone)
        return span is not None and span[0] <= local <= span[1]
