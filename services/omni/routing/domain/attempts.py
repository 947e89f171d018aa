"""A queue's attempt policy for callbacks, as data (docs/outbound.md): when the next call of an
unanswered callback is made, how many calls in all, and the local hours no call starts in.

Quiet hours are read in the queue's IANA time zone with `zoneinfo`, so a night of 21:00-09:00
ends at 09:00 local time also across a change of daylight saving time.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Callable
from zoneinfo import ZoneInfo

from omni.routing.domain.best_time import AnswerRates, best_call_time
from omni.runtime.errors import InvalidArgument

# A redial is put off for a better hour by at most this much (docs/outbound.md, "Best time to call").
MAX_BEST_TIME_WINDOW = 7 * 86400.0
_HOURS = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)$")


def _quiet_minutes(text: str) -> tuple[int, int]:
    match = _HOURS.match(text)
    if match is None:
        raise InvalidArgument(f"quiet hours {text!r} are not like '21:00-09:00'")
    h1, m1, h2, m2 = map(int, match.groups())
    start, end = h1 * 60 + m1, h2 * 60 + m2
    if start == end:
        raise InvalidArgument(f"quiet hours {text!r} must not start and end at the same time")
    return start, end


@dataclasses.dataclass(frozen=True)
class AttemptPolicy:
    """After the first call, the delays of the later ones (the "three touches": redial within
    the hour, then an SMS reminder and a call within a day; the last delay repeats); no more than
    `max_attempts` calls in all; no call starts within `quiet_hours` (local, may span midnight;
    "" for none); the calls numbered in `sms_attempts` are announced by an SMS when they are
    booked (sent at the end of the quiet hours when booked within them); a redial may be put off
    by up to `best_time_window` to the hour the customer is likeliest to answer."""

    retry_delays: tuple[float, ...] = (1800.0, 6 * 3600.0)
    max_attempts: int = 3
    quiet_hours: str = ""
    sms_attempts: tuple[int, ...] = (3,)
    best_time_window: float = 0.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1 or not self.retry_delays or any(d <= 0 for d in self.retry_delays):
            raise InvalidArgument("callback attempts: max_attempts at least 1 and retry delays above 0")
        # A number above max_attempts is a call never made (so no SMS): fewer calls need no other change.
        if any(n < 2 for n in self.sms_attempts):
            raise InvalidArgument("callback attempts: an SMS announces a redial (call 2 or later), not the first call")
        if self.quiet_hours:
            _quiet_minutes(self.quiet_hours)
        if not 0 <= self.best_time_window <= MAX_BEST_TIME_WINDOW:
            raise InvalidArgument("callback attempts: best_time_window from 0 to "
                                  f"{MAX_BEST_TIME_WINDOW / 86400:.0f} days")

    def sms_at(self, attempt: int, now: float, time_zone: str) -> float | None:
        """When the SMS announcing call `attempt` is sent, booked `now`: at once, or at the end of
        the quiet hours; None: the call is not announced."""
        return self.allowed(now, time_zone) if attempt in self.sms_attempts else None

    def next_call_at(self, attempts: int, now: float, time_zone: str, rates: AnswerRates | None = None,
                     is_open: Callable[[float], bool] = lambda at: True) -> float | None:
        """When to call again after `attempts` unanswered calls (with `rates`, at the customer's
        best hour within the best-time window while the queue `is_open`); None: give up."""
        if attempts >= self.max_attempts:
            return None
        delay = self.retry_delays[min(attempts, len(self.retry_delays)) - 1]
        due = self.allowed(now + delay, time_zone)
        if rates is None or not self.best_time_window:
            return due
        return best_call_time(due, now + delay + self.best_time_window, rates, time_zone,
                              lambda at: self.allowed(at, time_zone), is_open)

    def allowed(self, at: float, time_zone: str) -> float:
        """`at`, or the end of the quiet hours it falls in."""
        if not self.quiet_hours:
            return at
        start, end = _quiet_minutes(self.quiet_hours)
        zone = ZoneInfo(time_zone or "UTC")
        local = dt.datetime.fromtimestamp(at, zone)
        minute = local.hour * 60 + local.minute
        quiet = start <= minute < end if start < end else (minute >= start or minute < end)
        if not quiet:
            return at
        day = local.date() + dt.timedelta(days=1 if start > end and minute >= start else 0)
        # A wall-clock time on that day in that zone (fold 0: a time skipped by a change of
        # daylight saving time is read as after the change).
        return dt.datetime.combine(day, dt.time(end // 60, end % 60), zone).timestamp()
