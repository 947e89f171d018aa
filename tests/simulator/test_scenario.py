"""Scenario files: the bundled ones load; a broken one names every problem with its field."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from omni.simulator import scenario

BUNDLED = scenario.SCENARIO_DIR / "normal-day.yaml"


def test_bundled_scenarios_load_with_a_seed_and_staff_for_every_intent() -> None:
    names = scenario.bundled_names()
    assert {"normal-day", "promotion-peak", "night-holiday"} <= set(names)
    for name in names:
        loaded = scenario.load(name)
        assert loaded.seed and loaded.daily_volume() > 0
        assert loaded.close_seconds > loaded.open_seconds


def test_broken_scenario_lists_every_problem_with_its_path(tmp_path: Path) -> None:
    raw = yaml.safe_load(BUNDLED.read_text())
    raw["intents"][0]["volume"]["fax"] = 10
    raw["intents"][1]["handle"].pop("email")
    raw["customers"]["languages"] = {"zh": 0.7, "en": 0.2}
    raw["agents"][0]["shift"] = "16:00-08:00"
    raw["intents"].append({"name": "insurance", "volume": {"phone": 5}, "handle": {"phone": 100}})
    raw["colour"] = "blue"
    raw["offers"] = {"no_answer": 0.9, "answer": {"mean": -1}, "ring": 3}
    raw["targets"]["queue_wait_seconds"] = {"complaints": 0, "refunds": 900}
    raw["outbound"] = {"answer": 1.5, "answer_by_hour": {"zh": {"25": 0.5, "9": 2}}, "retry_delays": [],
                       "max_attempts": 0, "voicemail": True}
    path = tmp_path / "broken.yaml"
    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(scenario.ScenarioError) as caught:
        scenario.load(path)
    problems = "\n".join(caught.value.problems)
    assert "intents[0].volume.fax: unknown channel 'fax'" in problems
    assert "intents[1].handle: no handle time for channel 'email'" in problems
    assert "customers.languages: shares add up to 0.900" in problems
    assert "agents[0].shift: '16:00-08:00': the end must be after the start" in problems
    assert "no agent team has skill 'insurance' on channel 'phone'" in problems
    assert "colour: unknown field" in problems
    assert "offers.no_answer: 0.9 must be between 0 and 0.5" in problems
    assert "offers.answer.mean: -1 must be" in problems
    assert "offers: unknown field(s) ['ring']" in problems
    assert "targets.queue_wait_seconds.complaints: 0 must be" in problems
    assert "targets.queue_wait_seconds.refunds: no intent goes to this queue" in problems
    assert "outbound: unknown field(s) ['voicemail']" in problems
    assert "outbound.answer: 1.5 must be between 0 and 1" in problems
    assert "outbound.answer_by_hour.zh.25: expected an hour of day 0..23" in problems
    assert "outbound.answer_by_hour.zh.9: 2 must be between 0 and 1" in problems
    assert "outbound.retry_delays: expected a non-empty list of seconds" in problems
    assert "outbound.max_attempts: 0 must be at least 1" in problems
    assert str(path) in str(caught.value)


def test_missing_and_unparsable_files_say_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(scenario.ScenarioError, match=r"bundled scenarios: .*normal-day"):
        scenario.load("no-such-scenario")
    bad = tmp_path / "bad.yaml"
    bad.write_text("intents: [\n")
    with pytest.raises(scenario.ScenarioError, match="not valid YAML"):
        scenario.load(bad)


def test_scaling_multiplies_contacts_and_agents() -> None:
    day = scenario.load("normal-day")
    double = day.scaled(2.0)
    assert double.daily_volume() == pytest.approx(2 * day.daily_volume())
    assert sum(t.count for t in double.teams) == 2 * sum(t.count for t in day.teams)
    with pytest.raises(ValueError):
        day.scaled(0)
