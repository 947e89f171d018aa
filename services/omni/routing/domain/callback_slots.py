"""Times a customer may pick for their callback instead of keeping their place (docs/outbound.md).

A slot is offered when it lies inside the queue's opening hours and outside the quiet hours of
its attempt policy, starts at least `lead` seconds from now, and the capacity forecast for it is
not yet taken by callbacks already booked in it.

The forecast is the queue's own history: contacts answered in the same hour of the week over the
last weeks, of which `share` is kept for scheduled callbacks (the rest serves the live line). A
queue without history yet is forecast from its roster: every agent of its groups answering one
contact per average handle time. The forecast is a promise about the future, not a reservation:
two customers choosing the last place of a slot at the same moment both get it.

Pure: the caller reads the history and the booked callbacks; times are seconds since the epoch,
slots are aligned on their length in the queue's time zone.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections import Counter
from collections.abc import Iterable, Mapping
from zoneinfo import ZoneInfo

from omni.routing.domain.attempts import AttemptPolicy
from omni.routing.domain.queues import QueueConfig
from omni.runtime.errors import InvalidArgument

HOUR = 3600.0
WEEK = 7 * 86400.0


@dataclasses.dataclass(frozen=True)
class SlotRules:
    """How slots are cut and how much of a slot's forecast capacity callbacks may take."""

    length: float = 1800.0
    lead: float = 900.0
    horizon: float = 7 * 86400.0
    share: float = 0.2
    history_weeks: int = 4
    max_slots: int = 48

    def __post_init__(self) -> None:
        if not (300 <= self.length <= 4 * HOUR and self.lead >= 0 and self.length <= self.horizon <= 60 * 86400):
            raise InvalidArgument("callback slots: length 5 min-4 h, lead 0 or more, horizon at least one slot and "
                                  "at most 60 days")
        if not (0 < self.share <= 1 and self.history_weeks >= 1 and self.max_slots >= 1):
            raise InvalidArgument("callback slots: share in (0, 1], history_weeks and max_slots at least 1")


@dataclasses.dataclass(frozen=True)
class Slot:
    start: float
    end: float
    places: int


@dataclasses.dataclass(frozen=True)
class Forecast:
    """Contacts the queue answers per hour: by hour of the week (0 = Monday 00:00 local) from its
    history, else `roster_rate` for every hour."""

    by_hour: Mapping[int, float]
    roster_rate: float

    def per_hour(self, hour_of_week: int) -> float:
        return self.by_hour.get(hour_of_week, 0.0) if self.by_hour else self.roster_rate


def hour_of_week(at: float, time_zone: str) -> int:
    local = dt.datetime.fromtimestamp(at, ZoneInfo(time_zone or "UTC"))
    return local.weekday() * 24 + local.hour


def hourly(answered_at: Iterable[float], weeks: int, time_zone: str) -> dict[int, float]:
    """Contacts answered per hour of the week, on average over `weeks` weeks of answer times."""
    counts = Counter(hour_of_week(at, time_zone) for at in answered_at)
    return {hour: count / weeks for hour, count in counts.items()}


def forecast(by_hour: Mapping[int, float], *, agents: int, average_handle_time: float) -> Forecast:
    """From the queue's `hourly` history; `agents` and `average_handle_time` (s) for a queue that
    answered nothing in it."""
    return Forecast(by_hour, agents * HOUR / max(average_handle_time, 1.0))


def slots(queue: QueueConfig, policy: AttemptPolicy, now: float, expected: Forecast, booked: Iterable[float],
          rules: SlotRules, limit: int) -> list[Slot]:
    """Up to `limit` slots from `now + lead` to `now + horizon`, earliest first; `booked`: when
    the queue's scheduled callbacks are due."""
    zone = queue.hours.time_zone or "UTC"
    taken = Counter(_slot_start(due, rules.length, zone) for due in booked)
    found: list[Slot] = []
    start = _next_boundary(now + rules.lead, rules.length, zone)
    while start < now + rules.horizon and len(found) < min(limit, rules.max_slots):
        end = start + rules.length
        if _usable(queue, policy, start, end, zone):
            capacity = math.floor(rules.share * expected.per_hour(hour_of_week(start, zone)) * rules.length / HOUR)
            places = capacity - taken[start]
            if places > 0:
                found.append(Slot(start, end, places))
        start = end
    return found


def _usable(queue: QueueConfig, policy: AttemptPolicy, start: float, end: float, zone: str) -> bool:
    last = end - 1
    return (queue.hours.is_open(start) and queue.hours.is_open(last)
            and policy.allowed(start, zone) == start and policy.allowed(last, zone) == last)


def _slot_start(at: float, length: float, zone: str) -> float:
    """The start of the slot `at` falls in: slots are cut from local midnight."""
    local = dt.datetime.fromtimestamp(at, ZoneInfo(zone))
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0).timestamp()
    return midnight + (at - midnight) // length * length


def _next_boundary(at: float, length: float, zone: str) -> float:
    start = _slot_start(at, length, zone)
    return start if start == at else start + length
