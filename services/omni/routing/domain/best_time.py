"""Best time to call: which hours of the week a customer answers the phone, learned from the
outcomes of the calls made to them before (docs/outbound.md, "Best time to call").

A customer with little history is read through their segment's record (customers of the same
language and tier), and an hour of the week with few calls through the same hour of the other
days: each estimate is shrunk towards the next broader one by `PRIOR_CALLS` pseudo-calls, so a
single unanswered call does not make an hour "bad" and a rich history speaks for itself. Hours are
local hours of the queue's time zone (`zoneinfo`), so 19:00 stays 19:00 across a change of
daylight saving time.

Pure: routing's use case reads the counts from storage, the simulator keeps them in memory.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Iterable
from zoneinfo import ZoneInfo

HOURS_OF_WEEK = 7 * 24
# Weight of the broader estimate, in calls: an hour with this many calls of its own counts half.
PRIOR_CALLS = 4.0
# An hour must beat the earliest possible one by this much to be worth waiting for.
MIN_GAIN = 0.02


def hour_of_week(at: float, time_zone: str) -> int:
    """0 = Monday 00:00-00:59 local time, 167 = Sunday 23:00-23:59."""
    local = dt.datetime.fromtimestamp(at, ZoneInfo(time_zone or "UTC"))
    return local.weekday() * 24 + local.hour


def segment_of(language: str, vip: bool) -> str:
    """The customers whose record stands in for a customer with little history of their own."""
    return f"{(language or 'any').lower()[:16]}/{'vip' if vip else 'standard'}"


@dataclasses.dataclass
class CallCounts:
    """Calls made and answered per hour of the week."""

    calls: list[int] = dataclasses.field(default_factory=lambda: [0] * HOURS_OF_WEEK)
    answered: list[int] = dataclasses.field(default_factory=lambda: [0] * HOURS_OF_WEEK)

    @classmethod
    def of(cls, outcomes: Iterable[tuple[int, bool]]) -> CallCounts:
        """From (hour of week, answered) pairs."""
        counts = cls()
        for hour, reached in outcomes:
            counts.add(hour, reached)
        return counts

    def add(self, hour: int, reached: bool, calls: int = 1) -> None:
        if 0 <= hour < HOURS_OF_WEEK:
            self.calls[hour] += calls
            self.answered[hour] += calls if reached else 0

    def same_hour(self, hour: int) -> tuple[int, int]:
        """(answered, calls) at this hour of the day, every day of the week."""
        daily = range(hour % 24, HOURS_OF_WEEK, 24)
        return sum(self.answered[h] for h in daily), sum(self.calls[h] for h in daily)

    def total(self) -> tuple[int, int]:
        return sum(self.answered), sum(self.calls)


@dataclasses.dataclass(frozen=True)
class HistoryLimits:
    """How much call history the best time to call reads: a customer's last `customer_calls`, and
    their segment's calls of the last `segment_days`, kept `segment_cache_seconds` per replica."""

    customer_calls: int = 200
    segment_days: float = 56.0
    segment_cache_seconds: float = 300.0


def _shrunk(answered: int, calls: int, prior: float) -> float:
    return (answered + PRIOR_CALLS * prior) / (calls + PRIOR_CALLS)


@dataclasses.dataclass(frozen=True)
class AnswerRates:
    """The estimated chance that a call started in each hour of the week reaches the customer:
    their own record at that hour, shrunk towards their record at that hour of any day, towards
    the segment's at that hour of the week, of any day, and the segment's overall rate."""

    customer: CallCounts
    segment: CallCounts

    def rate(self, hour: int) -> float:
        answered, calls = self.segment.total()
        estimate = (answered + 1) / (calls + 2)
        for counts in (self.segment, self.customer):
            estimate = _shrunk(*counts.same_hour(hour), estimate)
            estimate = _shrunk(counts.answered[hour], counts.calls[hour], estimate)
        return estimate

    def ranked(self) -> list[int]:
        """The hours of the week, the likeliest to answer first."""
        return sorted(range(HOURS_OF_WEEK), key=lambda hour: (-self.rate(hour), hour))


def best_call_time(earliest: float, latest: float, rates: AnswerRates, time_zone: str,
                   allowed: Callable[[float], float], is_open: Callable[[float], bool] = lambda at: True) -> float:
    """The start of a call between `earliest` and `latest` in the hour the customer is likeliest to
    answer, among the times `allowed` lets a call start (quiet hours end) while the queue
    `is_open`; `earliest` unless a later hour is better by at least `MIN_GAIN`."""
    zone = ZoneInfo(time_zone or "UTC")
    start = dt.datetime.fromtimestamp(earliest, zone).replace(minute=0, second=0, microsecond=0).timestamp()
    best, best_rate = earliest, rates.rate(hour_of_week(earliest, time_zone)) + MIN_GAIN
    at = start + 3600.0
    while at <= latest:
        candidate = allowed(at)
        if candidate <= latest and is_open(candidate):
            rate = rates.rate(hour_of_week(candidate, time_zone))
            if rate > best_rate:
                best, best_rate = candidate, rate
        at = max(at + 3600.0, candidate) if candidate > at else at + 3600.0
    return best
