"""The times a waiting customer may choose for their callback: inside the queue's opening hours,
outside the quiet hours, on the slot grid of the queue's time zone, and only while the capacity
forecast for the slot (history, else the roster) is not taken by callbacks already booked."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from omni.routing.domain.attempts import AttemptPolicy
from omni.routing.domain.callback_slots import Forecast, Slot, SlotRules, forecast, hour_of_week, hourly, slots
from omni.routing.domain.queues import BusinessHours, QueueConfig
from omni.runtime.errors import InvalidArgument

SHANGHAI = "Asia/Shanghai"
OFFICE = BusinessHours(time_zone=SHANGHAI, windows=("mon-fri 09:00-18:00",))
QUEUE = QueueConfig(id="billing", hours=OFFICE)
RULES = SlotRules()


def local(text: str) -> float:
    return dt.datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(SHANGHAI)).timestamp()


def starts(found: list[Slot]) -> list[str]:
    return [dt.datetime.fromtimestamp(s.start, ZoneInfo(SHANGHAI)).strftime("%a %H:%M") for s in found]


def test_slots_lie_inside_the_opening_hours_outside_the_quiet_hours_on_the_half_hours() -> None:
    lunch = AttemptPolicy(quiet_hours="12:00-13:00")
    # Friday 17:10: the first slot starts after the lead time, on the grid; the weekend is closed.
    found = slots(QUEUE, lunch, local("2026-12-04T17:10"), Forecast({}, roster_rate=12.0), [], RULES, 12)
    assert starts(found) == ["Fri 17:30", "Mon 09:00", "Mon 09:30", "Mon 10:00", "Mon 10:30", "Mon 11:00",
                             "Mon 11:30", "Mon 13:00", "Mon 13:30", "Mon 14:00", "Mon 14:30", "Mon 15:00"]
    assert all(s.end - s.start == 1800 for s in found)
    # 12 contacts an hour, a fifth of them for callbacks: one place per half hour.
    assert {s.places for s in found} == {1}


def test_the_forecast_comes_from_the_same_hour_of_past_weeks_and_booked_callbacks_take_places() -> None:
    monday_ten = local("2026-11-30T10:05")
    # Four weeks of history: 40 answers an hour on Monday at 10 only (10 a week).
    history = [monday_ten - week * 7 * 86400 + minute * 60 for week in range(1, 5) for minute in range(10)]
    expected = forecast(hourly(history, 4, SHANGHAI), agents=50, average_handle_time=300)
    assert expected.per_hour(hour_of_week(monday_ten, SHANGHAI)) == pytest.approx(10.0)
    assert expected.per_hour(hour_of_week(monday_ten + 3600, SHANGHAI)) == 0.0  # history, not the roster
    generous = SlotRules(share=1.0, lead=0, horizon=8 * 86400)
    now = local("2026-11-30T10:00")
    found = slots(QUEUE, AttemptPolicy(), now, expected, [], generous, 3)
    # Only Monday 10-11 has answers: this week's two half hours, then next week's first.
    assert [(s.places, when) for s, when in zip(found, starts(found), strict=True)] == [
        (5, "Mon 10:00"), (5, "Mon 10:30"), (5, "Mon 10:00")]
    assert found[2].start - found[0].start == 7 * 86400
    booked = [local("2026-11-30T10:00")] * 5 + [local("2026-11-30T10:40")]
    after = slots(QUEUE, AttemptPolicy(), now, expected, booked, generous, 2)
    # 10:00 is full and not offered; 10:30 has one place taken.
    assert [(s.places, when) for s, when in zip(after, starts(after), strict=True)] == [(4, "Mon 10:30"),
                                                                                      (5, "Mon 10:00")]


def test_a_queue_without_history_is_forecast_from_its_roster_and_one_without_agents_offers_nothing() -> None:
    now = local("2026-12-01T09:00")
    assert forecast(hourly([], 4, SHANGHAI), agents=2, average_handle_time=600).per_hour(0) == pytest.approx(12.0)
    assert slots(QUEUE, AttemptPolicy(), now, forecast({}, agents=0, average_handle_time=300), [],
                 RULES, 12) == []
    always = QueueConfig(id="24x7")
    night = slots(always, AttemptPolicy(), local("2026-12-01T23:10"), Forecast({}, 12.0), [], RULES, 3)
    assert starts(night) == ["Tue 23:30", "Wed 00:00", "Wed 00:30"]


def test_slot_rules_are_checked() -> None:
    for bad in (dict(length=60), dict(share=0), dict(share=1.5), dict(horizon=100), dict(lead=-1),
                dict(history_weeks=0)):
        with pytest.raises(InvalidArgument):
            SlotRules(**bad)
