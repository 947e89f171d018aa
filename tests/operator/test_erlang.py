"""Recommended human staffing for a pool's service-level target (Erlang C with the observed figures)."""

from __future__ import annotations

import pytest

from agentpool_operator.erlang import ServiceLevelTarget, recommended_staffing
from agentpool_operator.scaling import PoolLoad
from omni.workforce import erlang


def observed(arrivals_per_second: float, aht: float) -> PoolLoad:
    return PoolLoad(as_of=0, waiting=0, bot_waiting=0, bot_in_progress=0, arrivals_per_second=arrivals_per_second,
                    average_handle_seconds=aht)


def test_textbook_100_calls_in_30_minutes_aht_180s_80_in_20() -> None:
    # Call Centre Helper's worked example: 10 Erlangs → 14 agents (SL 88.8 %, ASA 7.8 s);
    # with 30 % shrinkage the published roster is 14 / 0.7 = 20.
    staffing = recommended_staffing(observed(100 / 1800, 180), ServiceLevelTarget(percent=80, seconds=20,
                                                                                 shrinkage_percent=30))
    assert staffing is not None
    assert staffing.erlangs == pytest.approx(10.0)
    assert staffing.agents == 14
    assert staffing.rostered_agents == 20
    assert staffing.expected_service_level == pytest.approx(0.888, abs=6e-4)
    assert staffing.expected_average_speed_of_answer == pytest.approx(7.8, abs=0.05)


@pytest.mark.parametrize(("calls_per_hour", "aht", "percent", "seconds"), [
    (360, 240, 80, 20), (100, 180, 90, 15), (60, 60, 80, 20), (2000, 300, 95, 10),
])
def test_recommendation_is_the_fewest_agents_meeting_the_target(calls_per_hour: float, aht: float,
                                                                percent: float, seconds: float) -> None:
    rate = calls_per_hour / 3600
    staffing = recommended_staffing(observed(rate, aht), ServiceLevelTarget(percent=percent, seconds=seconds))
    assert staffing is not None
    assert staffing.expected_service_level >= percent / 100
    one_fewer = erlang.service_level(staffing.agents - 1, staffing.erlangs, aht, seconds)
    assert one_fewer < percent / 100


def test_no_observed_load_gives_no_recommendation() -> None:
    target = ServiceLevelTarget(percent=80, seconds=20)
    assert recommended_staffing(observed(0, 180), target) is None
    assert recommended_staffing(observed(0.1, 0), target) is None


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"percent": 0, "seconds": 20}, "serviceLevel.percent 0"),
    ({"percent": 80, "seconds": 0}, "serviceLevel.seconds 0"),
    ({"percent": 80, "seconds": 20, "shrinkage_percent": 100}, "shrinkagePercent 100"),
])
def test_bad_targets_name_the_field(kwargs: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ServiceLevelTarget(**kwargs)
