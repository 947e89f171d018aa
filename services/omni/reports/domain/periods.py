"""Report periods: UTC calendar days, ISO weeks (Monday to Monday) and calendar months, and which
of them are due: every completed period of the last few, so a scheduler that was down across a
boundary catches up instead of skipping it."""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum


class PeriodKind(enum.StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"


@dataclasses.dataclass(frozen=True, order=True)
class Period:
    start: dt.datetime
    end: dt.datetime
    kind: PeriodKind

    @property
    def name(self) -> str:
        """"day-2026-11-30", "week-2026-11-23" (its Monday), "month-2026-11": the report's key."""
        label = self.start.strftime("%Y-%m") if self.kind is PeriodKind.MONTH else self.start.date().isoformat()
        return f"{self.kind.value}-{label}"

    def previous(self) -> Period:
        return containing(self.kind, self.start - dt.timedelta(microseconds=1))


def containing(kind: PeriodKind, at: dt.datetime) -> Period:
    """The period of `kind` that `at` (aware) falls in."""
    day = dt.datetime.combine(at.astimezone(dt.UTC).date(), dt.time(), tzinfo=dt.UTC)
    if kind is PeriodKind.DAY:
        return Period(day, day + dt.timedelta(days=1), kind)
    if kind is PeriodKind.WEEK:
        monday = day - dt.timedelta(days=day.weekday())
        return Period(monday, monday + dt.timedelta(days=7), kind)
    first = day.replace(day=1)
    following = (first + dt.timedelta(days=32)).replace(day=1)
    return Period(first, following, kind)


def due(kind: PeriodKind, now: dt.datetime, catch_up: int) -> list[Period]:
    """The `catch_up` most recent completed periods of `kind`, oldest first."""
    periods = []
    period = containing(kind, now).previous()
    for _ in range(catch_up):
        periods.append(period)
        period = period.previous()
    return periods[::-1]
