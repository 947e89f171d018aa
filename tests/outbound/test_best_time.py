"""Best time to call (docs/outbound.md): the hours of the week ranked from earlier calls' outcomes,
the customer's own history read through their segment's when it is short, and a redial put off
to the best hour inside the policy's window, never into the quiet hours."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from omni.routing.domain.attempts import AttemptPolicy
from omni.routing.domain.best_time import AnswerRates, CallCounts, hour_of_week

SHANGHAI = "Asia/Shanghai"
NEW_YORK = "America/New_York"


def at(text: str, zone: str) -> float:
    return dt.datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(zone)).timestamp()


def local(seconds: float, zone: str) -> str:
    return dt.datetime.fromtimestamp(seconds, ZoneInfo(zone)).strftime("%a %H:%M")


def evenings(answered_at: int, missed_at: int, days: int = 5, per_day: int = 3) -> CallCounts:
    """Calls answered at hour `answered_at` and missed at `missed_at`, Monday to Friday."""
    counts = CallCounts()
    for day in range(days):
        for _ in range(per_day):
            counts.add(day * 24 + answered_at, True)
            counts.add(day * 24 + missed_at, False)
    return counts


def test_hour_of_week_is_local_and_keeps_its_wall_clock_across_dst() -> None:
    assert hour_of_week(at("2026-06-01T00:30", SHANGHAI), SHANGHAI) == 0  # a Monday
    assert hour_of_week(at("2026-06-07T23:59", SHANGHAI), SHANGHAI) == 167
    # 19:00 in New York is hour 19 of Saturday before and after the clocks change.
    assert hour_of_week(at("2026-03-07T19:00", NEW_YORK), NEW_YORK) == 5 * 24 + 19
    assert hour_of_week(at("2026-03-14T19:00", NEW_YORK), NEW_YORK) == 5 * 24 + 19


def test_a_customer_without_history_is_ranked_by_their_segment() -> None:
    segment = evenings(answered_at=19, missed_at=10)
    rates = AnswerRates(customer=CallCounts(), segment=segment)
    assert rates.ranked()[0] % 24 == 19  # evenings, any weekday
    assert rates.rate(19) > 0.8 > 0.2 > rates.rate(10)
    # Saturday 19:00 has no calls of its own: it borrows the segment's 19:00 of the other days.
    assert rates.rate(5 * 24 + 19) > rates.rate(5 * 24 + 10)


def test_a_customer_history_outweighs_the_segment_once_it_is_long_enough() -> None:
    segment = evenings(answered_at=19, missed_at=10)
    one_miss = CallCounts.of([(19, False)])
    # One unanswered evening call does not make evenings bad for this customer.
    assert AnswerRates(customer=one_miss, segment=segment).ranked()[0] % 24 == 19
    # A customer who keeps answering mornings and missing evenings is their own case.
    morning_person = evenings(answered_at=10, missed_at=19)
    assert AnswerRates(customer=morning_person, segment=segment).ranked()[0] % 24 == 10


def test_a_redial_is_put_off_to_the_best_hour_inside_the_window_and_outside_quiet_hours() -> None:
    rates = AnswerRates(customer=CallCounts(), segment=evenings(answered_at=19, missed_at=10))
    policy = AttemptPolicy((1800.0, 6 * 3600.0), best_time_window=12 * 3600.0, quiet_hours="21:00-09:00")
    missed = at("2026-06-01T10:00", SHANGHAI)  # Monday morning, nobody answered
    # Without the history: half an hour later. With it: the evening, the same day.
    assert local(policy.next_call_at(1, missed, SHANGHAI) or 0, SHANGHAI) == "Mon 10:30"
    assert local(policy.next_call_at(1, missed, SHANGHAI, rates) or 0, SHANGHAI) == "Mon 19:00"
    # A window too short to reach the evening: out of the bad 10 o'clock hour, no further.
    short = AttemptPolicy((1800.0,), best_time_window=3600.0)
    assert local(short.next_call_at(1, missed, SHANGHAI, rates) or 0, SHANGHAI) == "Mon 11:00"
    # The best hour is never within the quiet hours: customers who answer at 22:00 are called
    # when the night ends, not in it.
    night_owls = AnswerRates(customer=CallCounts(), segment=evenings(answered_at=22, missed_at=9))
    late = policy.next_call_at(1, at("2026-06-01T20:00", SHANGHAI), SHANGHAI, night_owls) or 0
    assert 9 <= dt.datetime.fromtimestamp(late, ZoneInfo(SHANGHAI)).hour < 21
    # Nor when the queue is closed: with the evening closed, the best open hour of the afternoon.
    closed_evenings = policy.next_call_at(1, missed, SHANGHAI, rates,
                                          lambda t: dt.datetime.fromtimestamp(t, ZoneInfo(SHANGHAI)).hour < 17)
    assert local(closed_evenings or 0, SHANGHAI) not in ("Mon 19:00", "Mon 20:00")
    assert dt.datetime.fromtimestamp(closed_evenings or 0, ZoneInfo(SHANGHAI)).hour < 17
    # Giving up stays giving up.
    assert policy.next_call_at(3, missed, SHANGHAI, rates) is None


def test_without_a_better_hour_the_redial_is_not_put_off() -> None:
    flat = AnswerRates(customer=CallCounts(),
                       segment=CallCounts.of([(h, r) for h in range(168) for r in (True, False)]))
    assert len({round(flat.rate(h), 6) for h in range(168)}) == 1
    policy = AttemptPolicy((1800.0,), best_time_window=12 * 3600.0)
    missed = at("2026-06-01T10:00", SHANGHAI)
    assert policy.next_call_at(1, missed, SHANGHAI, flat) == missed + 1800.0
