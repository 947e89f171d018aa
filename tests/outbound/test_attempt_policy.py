"""The attempt policy as data: the three touches by default, the last delay repeating, giving
up after the last attempt, quiet hours in the queue's zone across daylight-saving changes."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from omni.routing.domain.attempts import AttemptPolicy
from omni.runtime.errors import InvalidArgument

NEW_YORK = "America/New_York"


def at(text: str, zone: str) -> float:
    return dt.datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(zone)).timestamp()


def local(seconds: float, zone: str) -> str:
    return dt.datetime.fromtimestamp(seconds, ZoneInfo(zone)).isoformat()


def test_three_touches_by_default_then_give_up() -> None:
    policy = AttemptPolicy()
    assert policy.next_call_at(1, 0.0, "UTC") == 1800.0  # redial within the hour
    assert policy.next_call_at(2, 0.0, "UTC") == 6 * 3600.0  # and again within the day
    assert policy.next_call_at(3, 0.0, "UTC") is None
    assert AttemptPolicy((60.0,), max_attempts=5).next_call_at(4, 0.0, "UTC") == 60.0  # the last delay repeats
    # The third touch is "SMS + call": only the third call is announced by an SMS.
    assert [n for n in (1, 2, 3) if policy.sms_at(n, 0.0, "UTC") is not None] == [3]


def test_a_reminder_sms_booked_within_the_quiet_hours_waits_for_their_end() -> None:
    policy = AttemptPolicy((3600.0,), quiet_hours="21:00-09:00", sms_attempts=(2, 3))
    shanghai = "Asia/Shanghai"
    before = at("2026-06-01T20:59", shanghai)
    assert policy.sms_at(2, before, shanghai) == before  # at once
    assert local(policy.sms_at(2, at("2026-06-01T21:00", shanghai), shanghai) or 0, shanghai) \
        == "2026-06-02T09:00:00+08:00"  # postponed, not skipped
    assert local(policy.sms_at(3, at("2026-06-02T08:59", shanghai), shanghai) or 0, shanghai) \
        == "2026-06-02T09:00:00+08:00"
    assert AttemptPolicy(sms_attempts=()).sms_at(3, 0.0, "UTC") is None
    assert AttemptPolicy(max_attempts=2).next_call_at(2, 0.0, "UTC") is None  # its third call, and SMS, never come


def test_quiet_hours_move_a_call_to_their_local_end_across_midnight() -> None:
    policy = AttemptPolicy((3600.0,), quiet_hours="21:00-09:00")
    shanghai = "Asia/Shanghai"
    assert local(policy.allowed(at("2026-06-01T22:30", shanghai), shanghai), shanghai) == "2026-06-02T09:00:00+08:00"
    assert local(policy.allowed(at("2026-06-02T07:59", shanghai), shanghai), shanghai) == "2026-06-02T09:00:00+08:00"
    open_hours = at("2026-06-02T12:00", shanghai)
    assert policy.allowed(open_hours, shanghai) == open_hours
    # An unanswered call at 20:30: the redial an hour later would be at night, so 09:00 next day.
    assert local(policy.next_call_at(1, at("2026-06-01T20:30", shanghai), shanghai) or 0, shanghai) \
        == "2026-06-02T09:00:00+08:00"


def test_quiet_hours_end_at_local_nine_on_the_nights_the_clocks_change() -> None:
    policy = AttemptPolicy((3600.0,), quiet_hours="21:00-09:00")
    # Spring forward (2026-03-08 02:00 EST -> 03:00 EDT): the night is an hour shorter.
    spring = policy.allowed(at("2026-03-07T22:00", NEW_YORK), NEW_YORK)
    assert local(spring, NEW_YORK) == "2026-03-08T09:00:00-04:00"
    assert spring - at("2026-03-07T22:00", NEW_YORK) == 10 * 3600  # not 11 hours of wall clock
    # Fall back (2026-11-01 02:00 EDT -> 01:00 EST): an hour longer.
    autumn = policy.allowed(at("2026-10-31T22:00", NEW_YORK), NEW_YORK)
    assert local(autumn, NEW_YORK) == "2026-11-01T09:00:00-05:00"
    assert autumn - at("2026-10-31T22:00", NEW_YORK) == 12 * 3600
    # Quiet hours ending inside the skipped hour: read as after the change, never before.
    gap = AttemptPolicy((60.0,), quiet_hours="01:00-02:30")
    ends = gap.allowed(at("2026-03-08T01:30", NEW_YORK), NEW_YORK)
    assert local(ends, NEW_YORK) == "2026-03-08T03:30:00-04:00"


@pytest.mark.parametrize("bad", [dict(max_attempts=0), dict(retry_delays=()), dict(retry_delays=(0.0,)),
                                 dict(quiet_hours="9-17"), dict(quiet_hours="25:00-09:00"),
                                 dict(quiet_hours="09:00-09:00"), dict(sms_attempts=(1,)),
                                 dict(sms_attempts=(0,)), dict(best_time_window=-1.0),
                                 dict(best_time_window=8 * 86400.0)])
def test_a_bad_policy_is_refused_with_what_to_write(bad: dict[str, object]) -> None:
    with pytest.raises(InvalidArgument):
        AttemptPolicy(**bad)  # type: ignore[arg-type]
