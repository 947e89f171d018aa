"""The simulator on the live stack's own routing configuration (the dev stack's demo queues and
agents, as routing's API takes them): the engine gets exactly what the service would."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from omni.devstack.demo import routing as demo
from omni.routing.convert import queue_from_proto
from omni.simulator import fast, live_config, scenario
from omni.simulator.routing_policy import RoutingPolicyStrategy
from omni.simulator.traffic import Contact

DAY = {
    "name": "demo-config", "seed": 11, "hours": {"open": "09:00", "close": "12:00"},
    "intents": [
        {"name": "account", "queue": "general", "skill": "general", "volume": {"phone": 60, "chat": 40},
         "handle": {"phone": 240, "chat": 300}},
        {"name": "refund", "queue": "billing", "skill": "billing", "simple": True,
         "volume": {"phone": 40, "chat": 30}, "handle": {"phone": 200, "chat": 240}},
        {"name": "order_status", "queue": "chat", "skill": "general", "simple": True,
         "volume": {"chat": 40}, "handle": {"chat": 180}},
    ],
    "customers": {"population": 500, "languages": {"zh": 0.6, "en": 0.4}},
    # Placeholder team for the scenario's own checks; the configured agents replace it below.
    "agents": [{"team": "placeholder", "count": 1, "skills": {"general": 3, "billing": 3}, "languages": ["zh", "en"],
                "channels": {"phone": 1, "chat": 2}, "shift": "09:00-12:00"}],
}

# Midnight of the scenario's first day: records count from the epoch, contacts from here.
EPOCH = dt.datetime.combine(scenario.parse(DAY).start_date, dt.time(), tzinfo=dt.UTC).timestamp()


@pytest.fixture(scope="module")
def day() -> scenario.Scenario:
    parsed = scenario.parse(DAY)
    return dataclasses.replace(parsed, teams=live_config.teams(
        demo.AGENTS, shift=(parsed.open_seconds, parsed.close_seconds),
        wrap_up=scenario.Distribution(mean=10.0, kind="fixed")))


def test_the_engine_runs_the_queues_the_stack_creates(day: scenario.Scenario) -> None:
    strategy = RoutingPolicyStrategy.for_configuration(day, demo.queues(), demo.AGENTS)
    for queue in demo.queues():
        assert strategy.engine.queue(queue.id) == queue_from_proto(queue)
    assert {t.name for t in day.teams} == {a.id for a in demo.AGENTS}


def test_a_day_on_the_demo_configuration_routes_as_the_service_would(day: scenario.Scenario) -> None:
    result = fast.FastSimulation(day, RoutingPolicyStrategy.for_configuration(day, demo.queues(), demo.AGENTS)).run()
    groups = {a.id: set(a.groups) for a in demo.AGENTS}
    queue_groups = {q.id: set(q.groups) for q in demo.queues()}
    answered = [c for c in result.contacts if c.outcome == "answered"]
    assert len(answered) > 50
    # The demo's queues route by group and require no skill: an agent of the queue's groups.
    for contact in answered:
        assert groups[contact.agent_id.rsplit("-", 1)[0]] & queue_groups[contact.queue]
    # The web chat queue sends parcel questions to the bot first (threshold 0); the bot never
    # keeps a call (billing's refunds overflow only on chat).
    overflowed = [c for c in result.contacts if c.outcome == "overflowed"]
    assert {c.queue for c in overflowed if c.intent == "order_status"} == {"chat"}
    assert all(c.channel != "phone" for c in overflowed)


def test_given_first_contacts_are_replayed_instead_of_drawn(day: scenario.Scenario) -> None:
    """What a live run saw, replayed: exactly those contacts arrive, at their times."""
    drawn = fast.FastSimulation(day, RoutingPolicyStrategy.for_configuration(day, demo.queues(), demo.AGENTS)).run()
    first = [c for c in drawn.contacts if not c.follow_up][:20]
    intents = {i.name: i for i in day.intents}
    replay = [Contact(id=f"live-{n}", customer_id=c.customer_id, matter_id=f"live-{n}", channel=c.channel,
                      intent=intents[c.intent], language=c.language, vip=c.vip, urgent=c.urgent, emotion=c.emotion,
                      arrival=c.arrived - EPOCH, patience=600.0, handle=120.0) for n, c in enumerate(first)]
    again = fast.FastSimulation(day, RoutingPolicyStrategy.for_configuration(day, demo.queues(), demo.AGENTS),
                                arrivals=replay).run()
    firsts = [c for c in again.contacts if not c.follow_up]
    assert [(c.contact_id, c.arrived) for c in firsts] == [(f"live-{n}", c.arrived) for n, c in enumerate(first)]
