"""A queue's attempt policy for callbacks, as data (docs/outbound.md): when the next call of an
unanswered callback is made, how many calls in all, and the local hours no call starts in.

Quiet hours are read in the queue's IANA time zone with `zoneinfo`, so a night of 21:00-09:00
ends at 09:00 local time also across a change of daylight saving time.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from zoneinfo import ZoneInfo

from omni.runtime.errors import InvalidArgument

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
    booked (not within the quiet hours either)."""

    retry_delays: tuple[float, ...] = (1800.0, 6 * 3600.0)
    max_attempts: int = 3
    quiet_hours: str = ""
    sms_attempts: tuple[int, ...] = (3,)

    def __post_init__(self) -> None:
        if self.max_attempts < 1 or not self.retry_delays or any(d <= 0 for d in self.retry_delays):
            raise InvalidArgument("callback attempts: max_attempts at least 1 and retry delays above 0")
        # A number above max_attempts is a call never made (so no SMS): fewer calls need no other change.
        if any(n < 2 for n in self.sms_attempts):
            raise InvalidArgument("callback attempts: an SMS announces a redial (call 2 or later), not the first call")
        if self.quiet_hours:
            _quiet_minutes(self.quiet_hours)

    def sms_before(self, attempt: int, now: float, time_zone: str) -> bool:
        """Whether call `attempt` is announced by an SMS sent `now` (outside the quiet hours)."""
        return attempt in self.sms_attempts and self.allowed(now, time_zone) == now

    def next_call_at(self, attempts: int, now: float, time_zone: str) -> float | None:
        """When to call again after `attempts` unanswered calls; None: give up."""
        if attempts >= self.max_attempts:
            return None
        delay = self.retry_delays[min(attempts, len(self.retry_delays)) - 1]
        return self.allowed(now + delay, time_zone)

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
