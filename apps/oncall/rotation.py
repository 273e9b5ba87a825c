"""Who is on call on a roster at a given instant, and the shifts over a period.

Invariant: the rotation is computed in wall-clock time of the roster's timezone, so a
handover set for Monday 09:00 happens at 09:00 local on both sides of a daylight-saving
change (the week across the change is an hour longer or shorter in UTC); an override
wins over the rotation while it lasts, and of overlapping overrides the one created last
wins. Pure reads: nothing here writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from apps.oncall.models import Roster, RosterMember, RosterOverride

WEEK = timedelta(days=7)
MAX_PREVIEW_DAYS = 62


@dataclass(frozen=True)
class Shift:
    starts_at: datetime
    ends_at: datetime
    user_id: int | None
    source: str  # "rotation" or "override"
    override_id: str = ""


@dataclass
class RosterState:
    """A roster with its members and overrides, read once for many instants."""

    roster: Roster
    member_ids: list[int]
    overrides: list[RosterOverride]

    @classmethod
    def load(cls, roster: Roster, *, since: datetime | None = None, until: datetime | None = None) -> RosterState:
        overrides = RosterOverride.objects.filter(roster=roster)
        if since is not None:
            overrides = overrides.filter(ends_at__gt=since)
        if until is not None:
            overrides = overrides.filter(starts_at__lte=until)
        members = list(RosterMember.objects.filter(roster=roster).order_by("position").values_list("user_id",
                                                                                                   flat=True))
        return cls(roster=roster, member_ids=members, overrides=list(overrides.order_by("created_at", "pk")))

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.roster.timezone)

    def _anchor(self) -> datetime:
        """The first handover (naive local time): on or after `starts_on`, on the handover weekday."""
        roster = self.roster
        days = (roster.handover_weekday - roster.starts_on.weekday()) % 7
        return datetime.combine(roster.starts_on + timedelta(days=days), roster.handover_time)

    def _week(self, at: datetime) -> int:
        local = at.astimezone(self.zone).replace(tzinfo=None)
        return (local - self._anchor()) // WEEK  # weeks before the first count backwards

    def handover(self, week: int) -> datetime:
        """The instant week `week` starts, in UTC (aware datetimes sharing one zone compare
        and subtract by wall clock, which would hide the daylight-saving hour)."""
        return (self._anchor() + week * WEEK).replace(tzinfo=self.zone).astimezone(UTC)

    def rotation_at(self, at: datetime) -> Shift:
        week = self._week(at)
        user = self.member_ids[week % len(self.member_ids)] if self.member_ids else None
        return Shift(self.handover(week), self.handover(week + 1), user, "rotation")

    def override_at(self, at: datetime) -> RosterOverride | None:
        covering = [o for o in self.overrides if o.starts_at <= at < o.ends_at]
        return covering[-1] if covering else None

    def on_call_at(self, at: datetime) -> int | None:
        override = self.override_at(at)
        return override.user_id if override is not None else self.rotation_at(at).user_id

    def _who(self, at: datetime) -> tuple[int | None, str, str]:
        override = self.override_at(at)
        if override is not None:
            return override.user_id, "override", override.public_id
        return self.rotation_at(at).user_id, "rotation", ""

    def shifts(self, start: datetime, end: datetime, *, join: bool = True) -> list[Shift]:
        """Who is on call from `start` to `end`: cut at every handover and override edge,
        then (`join`) stretches with the same person for the same reason joined."""
        edges = {start, end}
        week = self._week(start) + 1
        while self.handover(week) < end and len(edges) < 2000:
            edges.add(self.handover(week))
            week += 1
        for override in self.overrides:
            edges.update(edge for edge in (override.starts_at, override.ends_at) if start < edge < end)
        points = sorted(edges)
        result: list[Shift] = []
        for begin, finish in zip(points, points[1:], strict=False):
            user_id, source, override_id = self._who(begin)
            last = result[-1] if result else None
            same = last is not None and (last.user_id, last.source, last.override_id) == (user_id, source, override_id)
            if join and same:
                result[-1] = Shift(last.starts_at, finish, user_id, source, override_id)
            else:
                result.append(Shift(begin, finish, user_id, source, override_id))
        return result

    def shift_at(self, at: datetime) -> Shift:
        """The stretch of whoever is on call at `at`, from the handover or override edge that
        began it: a stable start, so a notice keyed on it is sent once."""
        pieces = self.shifts(at - WEEK - timedelta(days=1), at + timedelta(seconds=1), join=False)
        return pieces[-1]


def on_call_user_id(roster: Roster, at: datetime) -> int | None:
    return RosterState.load(roster, since=at, until=at + timedelta(seconds=1)).on_call_at(at)
