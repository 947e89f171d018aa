"""The usual band of a queue's hourly figures (median and MAD of the same hour of past weeks,
the same hour of past days while the weeks are too few): pure rules, no servers."""

from __future__ import annotations

import datetime as dt

from omni.supervision.domain.alerts import AlertKind
from omni.supervision.domain.usual_band import BandRules, HourFigures, band_alerts

MONDAY_10 = dt.datetime(2026, 11, 30, 10, tzinfo=dt.UTC)
RULES = BandRules()


def hour(at: dt.datetime, **figures: float) -> HourFigures:
    return HourFigures("billing", at, figures)


def weeks_back(n: int, **figures: float) -> HourFigures:
    return hour(MONDAY_10 - dt.timedelta(weeks=n), **figures)


def test_a_service_level_far_below_the_same_hour_of_past_weeks_alarms_and_a_usual_one_does_not() -> None:
    history = [weeks_back(n, service_level=level, offered=40) for n, level in
               enumerate((0.82, 0.78, 0.85, 0.80, 0.79), start=1)]
    [alert] = band_alerts(hour(MONDAY_10, service_level=0.55, offered=41), history, RULES, MONDAY_10)
    assert alert.kind is AlertKind.KPI_OUTSIDE_BAND and alert.queue_id == "billing"
    assert "service level 55% from 10:00 UTC" in alert.detail and "median 80%, hour of week, 5 weeks" in alert.detail
    assert band_alerts(hour(MONDAY_10, service_level=0.76, offered=39), history, RULES, MONDAY_10) == []
    # Better than usual is never an alarm for a service level.
    assert band_alerts(hour(MONDAY_10, service_level=1.0, offered=40), history, RULES, MONDAY_10) == []


def test_volume_alarms_either_way_and_other_hours_of_the_week_do_not_count() -> None:
    history = [weeks_back(n, offered=v) for n, v in enumerate((40, 44, 38, 41), start=1)]
    history += [hour(MONDAY_10 - dt.timedelta(weeks=n, hours=1), offered=400) for n in range(1, 5)]
    assert [a.detail.split(" from")[0] for a in band_alerts(hour(MONDAY_10, offered=90), history, RULES,
                                                            MONDAY_10)] == ["offered 90"]
    assert len(band_alerts(hour(MONDAY_10, offered=5), history, RULES, MONDAY_10)) == 1


def test_a_short_history_falls_back_to_the_same_hour_of_past_days_then_to_no_judgement() -> None:
    days = [hour(MONDAY_10 - dt.timedelta(days=n), abandonment_rate=0.05) for n in range(1, 8)]
    [alert] = band_alerts(hour(MONDAY_10, abandonment_rate=0.30), days, RULES, MONDAY_10)
    assert "hour of day, 7 days" in alert.detail
    assert band_alerts(hour(MONDAY_10, abandonment_rate=0.30), days[:6], RULES, MONDAY_10) == []


def test_a_perfectly_regular_history_still_tolerates_a_small_wobble() -> None:
    history = [weeks_back(n, abandonment_rate=0.02) for n in range(1, 6)]
    assert band_alerts(hour(MONDAY_10, abandonment_rate=0.04), history, RULES, MONDAY_10) == []
    assert len(band_alerts(hour(MONDAY_10, abandonment_rate=0.10), history, RULES, MONDAY_10)) == 1
