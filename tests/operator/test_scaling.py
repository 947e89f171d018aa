"""The desired-replicas rule: HPA arithmetic, stabilization, scale-up limits, cooldown, bounds, missing data."""

from __future__ import annotations

import dataclasses

import pytest

from agentpool_operator.scaling import (
    PoolLoad,
    Reason,
    Recommendation,
    ScalingPolicy,
    ScalingState,
    desired_replicas,
    raw_recommendation,
)

POLICY = ScalingPolicy(min_replicas=1, max_replicas=20, sessions_per_replica=5, tolerance=0.1,
                       stabilization_seconds=300, cooldown_seconds=60, scale_up_percent=100, scale_up_pods=4,
                       max_statistics_age_seconds=60)


def load(demand: int, at: float = 0.0, *, in_progress: int = 0, human_waiting: int = 0) -> PoolLoad:
    """`demand` bot sessions, `in_progress` of them held by workers."""
    return PoolLoad(as_of=at, waiting=human_waiting, bot_waiting=demand - in_progress, bot_in_progress=in_progress,
                    arrivals_per_second=0.1, average_handle_seconds=180)


def run(policy: ScalingPolicy, start: int, samples: list[tuple[float, int | None]]) -> list[int]:
    """Feed (time, demand or None) samples through the rule as the operator does; replicas after each."""
    state = ScalingState(current_replicas=start)
    seen = []
    for now, demand in samples:
        decision = desired_replicas(policy, state, None if demand is None else load(demand, at=now), now)
        changed = decision.changes(state.current_replicas)
        state = ScalingState(current_replicas=decision.replicas,
                             last_scale_time=now if changed else state.last_scale_time,
                             recommendations=decision.recommendations)
        seen.append(decision.replicas)
    return seen


@pytest.mark.parametrize(("current", "demand", "expected"), [
    (2, 10, 2),    # exactly on target
    (2, 11, 2),    # ratio 1.1: within the 10 % tolerance
    (2, 12, 3),    # ratio 1.2: ceil(2 × 1.2) = 3
    (4, 41, 9),    # ceil(4 × 2.05) = 9
    (10, 46, 10),  # ratio 0.92: within tolerance, no change
    (10, 44, 9),   # ratio 0.88: ceil(8.8) = 9
    (3, 0, 0),     # nothing waiting: the raw rule says 0 (bounds decide the floor)
    (0, 7, 2),     # from zero there is no per-replica metric: demand / target
])
def test_hpa_rule_with_tolerance(current: int, demand: int, expected: int) -> None:
    assert raw_recommendation(POLICY, current, demand) == expected


@pytest.mark.parametrize(("name", "policy", "start", "samples", "expected"), [
    ("ramp up is followed, limited to double or +4 per decision",
     POLICY, 1, [(0, 10), (15, 40), (30, 80), (45, 100)], [2, 6, 12, 20]),
    ("a spike is absorbed at once up to the limit, then held through the window",
     POLICY, 2, [(0, 60), (15, 60), (30, 5), (200, 5), (314, 5), (316, 5)], [6, 12, 12, 12, 12, 1]),
    ("ramp down steps through the window's highest recommendation",
     POLICY, 10, [(0, 50), (100, 30), (200, 20), (301, 20), (401, 20), (501, 20)], [10, 10, 10, 6, 4, 4]),
    ("missing data holds the current size, it never drops to zero or the floor",
     POLICY, 8, [(0, None), (100, None), (400, None)], [8, 8, 8]),
    ("bounds: never above max, never below min even with no load",
     dataclasses.replace(POLICY, min_replicas=3, max_replicas=12, stabilization_seconds=0, cooldown_seconds=0),
     5, [(0, 500), (15, 500), (30, 0)], [10, 12, 3]),
    ("scale to zero only when the pool allows it and the data says so",
     dataclasses.replace(POLICY, min_replicas=0, stabilization_seconds=0, cooldown_seconds=0),
     2, [(0, 0), (10, None), (20, 3)], [0, 0, 1]),
    ("no flapping: load oscillating around the threshold leaves replicas where they are",
     POLICY, 4, [(t, d) for t, d in zip(range(0, 600, 15), [20, 21, 19, 22, 18] * 8, strict=True)], [4] * 40),
])
def test_load_scenarios(name: str, policy: ScalingPolicy, start: int, samples: list[tuple[float, int | None]],
                        expected: list[int]) -> None:
    assert run(policy, start, samples) == expected, name


def test_alternating_spikes_do_not_flap() -> None:
    # Busy minute, quiet minute, ...: the window keeps the busy size instead of bouncing.
    samples = [(t, 40 if (t // 60) % 2 == 0 else 0) for t in range(0, 900, 15)]
    replicas = run(POLICY, 8, samples)
    assert replicas == [8] * len(samples)


def test_no_scale_down_inside_cooldown_even_with_an_empty_window() -> None:
    policy = dataclasses.replace(POLICY, stabilization_seconds=0, cooldown_seconds=120)
    state = ScalingState(current_replicas=6, last_scale_time=1000.0)
    held = desired_replicas(policy, state, load(0, at=1060), now=1060)
    assert (held.replicas, held.reason) == (6, Reason.COOLDOWN)
    assert "cooldown 120s" in held.message
    later = desired_replicas(policy, state, load(0, at=1121), now=1121)
    assert (later.replicas, later.reason) == (1, Reason.SCALED_DOWN)


def test_cooldown_does_not_block_scaling_up() -> None:
    state = ScalingState(current_replicas=2, last_scale_time=1000.0)
    decision = desired_replicas(POLICY, state, load(30, at=1005), now=1005)
    assert (decision.replicas, decision.reason) == (6, Reason.SCALED_UP)


def test_stale_statistics_hold_and_say_how_old() -> None:
    decision = desired_replicas(POLICY, ScalingState(current_replicas=5), load(0, at=100), now=200)
    assert (decision.replicas, decision.reason, decision.recommended) == (5, Reason.STALE_STATISTICS, None)
    assert "100s old" in decision.message


def test_holding_without_data_still_applies_changed_bounds() -> None:
    # The pool's minReplicas was raised while routing was down: the floor still applies.
    policy = dataclasses.replace(POLICY, min_replicas=4)
    decision = desired_replicas(policy, ScalingState(current_replicas=2), None, now=0)
    assert (decision.replicas, decision.reason) == (4, Reason.NO_STATISTICS)


def test_window_forgets_old_recommendations() -> None:
    state = ScalingState(current_replicas=10, recommendations=(Recommendation(0, 10), Recommendation(250, 8)))
    decision = desired_replicas(POLICY, state, load(5, at=301), now=301)
    assert decision.replicas == 8
    assert [r.at for r in decision.recommendations] == [250, 301]


def test_bot_conversations_in_progress_count_and_the_human_line_does_not() -> None:
    # 4 replicas × 5 sessions all busy in conversations, nothing new waiting: no scale-down.
    busy = desired_replicas(POLICY, ScalingState(current_replicas=4), load(20, in_progress=20), now=0)
    assert (busy.replicas, busy.reason) == (4, Reason.STEADY)
    assert "20 bot sessions (0 waiting, 20 in progress)" in busy.message
    # 5 waiting for the bot and 5 in conversations: two replicas' worth.
    assert desired_replicas(POLICY, ScalingState(current_replicas=1), load(10, in_progress=5), now=0).replicas == 2
    # 40 people waiting for a person are the human agents' load, not the bots'.
    idle = desired_replicas(POLICY, ScalingState(current_replicas=1), load(0, human_waiting=40), now=0)
    assert idle.replicas == 1


@pytest.mark.parametrize(("changes", "message"), [
    ({"min_replicas": -1}, "minReplicas -1 is negative"),
    ({"min_replicas": 5, "max_replicas": 3}, "maxReplicas 3 must be at least 1 and at least minReplicas 5"),
    ({"sessions_per_replica": 0}, "sessionsPerReplica 0 must be at least 1"),
    ({"tolerance": 1.5}, "tolerance 1.5"),
])
def test_bad_policies_are_refused_with_the_field_named(changes: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        dataclasses.replace(POLICY, **changes)
