"""The fast mode: reproducible with a seed, every contact accounted for, customers behave."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import Counter

import pytest

from omni.kpis import figures as kpis
from omni.simulator import compare, fast, scenario
from omni.simulator import scenario as sc
from omni.simulator.strategies import FifoAcd
from omni.workforce import erlang


def run(day: sc.Scenario, seed: int | None = None) -> fast.RunResult:
    return compare.run(day, "fifo", seed=seed)


def test_same_seed_same_day_other_seed_other_day() -> None:
    day = scenario.load("night-holiday")
    first, again, other = run(day), run(day), run(day, seed=day.seed + 1)
    assert first.contacts == again.contacts and first.agents == again.agents
    assert first.contacts != other.contacts


def test_every_contact_ends_one_way_and_answered_ones_have_an_agent() -> None:
    day = scenario.load("normal-day")
    result = run(day)
    outcomes = Counter(r.outcome for r in result.contacts)
    assert outcomes["answered"] > 0.8 * len(result.contacts)
    assert outcomes["abandoned"] > 0  # callers with 150 s patience meet the 9-11 peak
    for record in result.contacts:
        if record.outcome == "answered":
            assert record.agent_id and record.answered is not None and record.answered >= record.arrived
            # Only a contact transferred late in the day may still wait for its next agent at close.
            assert (record.ended is not None and record.ended >= record.answered) or record.transfers
    # Follow-ups come from unresolved matters of the same customer.
    matters = {r.matter_id: r for r in result.contacts if not r.follow_up}
    follow_ups = [r for r in result.contacts if r.follow_up]
    assert follow_ups and all(matters[r.matter_id].customer_id == r.customer_id for r in follow_ups)
    for agent in result.agents:
        assert 0 <= agent.busy_seconds <= agent.logged_in_seconds + 1e-6


def test_understaffing_shows_in_waits_and_abandonment() -> None:
    day = scenario.load("normal-day")
    short = dataclasses.replace(day, teams=tuple(dataclasses.replace(t, count=max(1, t.count // 2))
                                                 for t in day.teams))
    targets = compare.targets_of(day)
    full = kpis.compute(run(day).contacts, targets=targets)
    half = kpis.compute(run(short).contacts, targets=targets)
    assert half.abandon_rate is not None and full.abandon_rate is not None
    assert half.abandon_rate > 2 * full.abandon_rate
    assert half.asa_seconds is not None and full.asa_seconds is not None and half.asa_seconds > full.asa_seconds


def test_language_and_skill_mismatch_under_fifo_causes_transfers() -> None:
    result = run(scenario.load("normal-day"))
    transferred = [r for r in result.contacts if r.transfers]
    assert transferred
    # English speakers meet Chinese-only agents under FIFO: they are transferred more often.
    share = {lang: sum(1 for r in transferred if r.language == lang) /
             sum(1 for r in result.contacts if r.language == lang and r.outcome == "answered")
             for lang in ("en", "zh")}
    assert share["en"] > share["zh"]


class Ideal(fast.ServiceModel):
    """The M/M/c textbook: no transfers, no skill effects, everything resolved."""

    def transfer_probability(self, contact: object, agent: object) -> float:
        return 0.0

    def handle_factor(self, contact: object, agent: object) -> float:
        return 1.0

    def resolution_probability(self, contact: object, agent: object) -> float:
        return 1.0  # no follow-ups: arrivals stay Poisson


def steady_state(agents: int, erlangs: float, aht: float, days: int) -> sc.Scenario:
    intent = sc.Intent(name="q", queue="q", skill="q", volume={"phone": erlangs / aht * 86_400},
                       handle={"phone": sc.Distribution(mean=aht, kind="exponential")})
    team = sc.AgentTeam(name="t", count=agents, skills={"q": 5}, languages=("en",), channels={"phone": 1},
                        shift_start=0, shift_end=86_400, wrap_up=sc.Distribution(mean=0.0, kind="fixed"))
    return sc.Scenario(name="m-m-c", description="", seed=7, start_date=dt.date(2026, 1, 5), days=days,
                       open_seconds=0, close_seconds=86_400, profile={}, intents=(intent,),
                       customers=sc.CustomerMix(population=10**6, languages={"en": 1.0}), teams=(team,),
                       targets=sc.RoutingTargets(service_level={"phone": (0.8, 20.0)}))


@pytest.mark.slow
def test_steady_state_matches_erlang_c() -> None:
    # 8 agents, 5.6 Erlangs (70 % load), exponential 180 s handle, infinite patience, FIFO:
    # 60 simulated days, ~160,000 calls.
    agents, erlangs, aht = 8, 5.6, 180.0
    day = steady_state(agents, erlangs, aht, days=60)
    result = fast.FastSimulation(day, FifoAcd(fast.handle_estimates(day)), model=Ideal()).run()
    held = [r for r in result.contacts if r.outcome == "answered" and r.answered is not None]
    assert len(held) > 150_000
    waited = sum(1 for r in held if r.answered - r.arrived > 1e-9) / len(held)
    asa = sum(r.answered - r.arrived for r in held) / len(held)
    within_20 = sum(1 for r in held if r.answered - r.arrived <= 20) / len(held)
    assert waited == pytest.approx(erlang.probability_of_waiting(agents, erlangs), rel=0.03)
    assert asa == pytest.approx(erlang.average_speed_of_answer(agents, erlangs, aht), rel=0.06)
    assert within_20 == pytest.approx(erlang.service_level(agents, erlangs, aht, 20), abs=0.01)
