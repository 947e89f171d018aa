"""Erlang C against published textbook figures."""

from __future__ import annotations

import math

import pytest

from omni.workforce import erlang


def test_textbook_case_100_calls_in_30_minutes_aht_180s_80_in_20() -> None:
    # Call Centre Helper's worked Erlang C example: 100 calls / 30 min, AHT 180 s → 10 Erlangs.
    # Published: 11 agents P(wait) 68.21 % SL 39.0 %; 12 → 64.0 %; 13 → 79.6 %;
    # 14 agents P(wait) 17.41 %, SL 88.8 %, ASA 7.8 s → 14 agents meet 80/20.
    rate = 100 / 1800
    erlangs = erlang.traffic_intensity(rate, 180)
    assert erlangs == pytest.approx(10.0)
    assert erlang.probability_of_waiting(11, erlangs) == pytest.approx(0.6821, abs=5e-5)
    published_service_levels = {11: 0.390, 12: 0.640, 13: 0.796, 14: 0.888}
    for agents, published in published_service_levels.items():
        assert erlang.service_level(agents, erlangs, 180, 20) == pytest.approx(published, abs=6e-4)
    assert erlang.probability_of_waiting(14, erlangs) == pytest.approx(0.1741, abs=5e-5)
    assert erlang.average_speed_of_answer(14, erlangs, 180) == pytest.approx(7.8, abs=0.05)
    assert erlang.agents_needed(rate, 180, service_level_target=0.8, target_seconds=20) == 14


def test_single_server_reduces_to_mm1() -> None:
    # M/M/1: P(wait) = ρ and ASA = ρ/(1-ρ) × AHT.
    assert erlang.probability_of_waiting(1, 0.5) == pytest.approx(0.5)
    assert erlang.average_speed_of_answer(1, 0.5, 100) == pytest.approx(100.0)


def test_overloaded_and_idle_queues() -> None:
    assert erlang.probability_of_waiting(5, 5.0) == 1.0
    assert math.isinf(erlang.average_speed_of_answer(5, 6.0, 180))
    assert erlang.service_level(5, 6.0, 180, 20) == 0.0
    assert erlang.probability_of_waiting(3, 0.0) == 0.0
    assert erlang.agents_needed(0.0, 180, service_level_target=0.8, target_seconds=20) == 0


def test_large_centres_do_not_overflow() -> None:
    # 2,000 Erlangs: factorial-based formulas overflow; the recurrence does not.
    agents = erlang.agents_needed(2000 / 180, 180, service_level_target=0.8, target_seconds=20)
    assert 2000 < agents < 2100


def test_bad_targets_are_rejected() -> None:
    with pytest.raises(ValueError, match="fraction"):
        erlang.agents_needed(1.0, 180, service_level_target=80, target_seconds=20)
    with pytest.raises(ValueError, match="negative"):
        erlang.traffic_intensity(-1, 180)
