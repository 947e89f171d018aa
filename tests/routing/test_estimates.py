"""What a waiting customer is told: the engine's wait estimate on a hand-driven clock (no servers)."""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Iterator

import pytest

from omni.routing.domain.engine import RoutingEngine
from omni.routing.domain.estimates import live_wait
from omni.routing.domain.queue_metrics import Position
from omni.routing.domain.queues import QueueConfig
from omni.routing.domain.work import Work, WorkState
from omni.runtime.channels import Channel
from tests.routing.conftest import Clock
from tests.routing.test_engine import agent, call


def accept_offers(engine: RoutingEngine) -> None:
    for someone in list(engine.agents()):
        for work_id in sorted(someone.offered):
            engine.accept(someone.id, work_id)


def finish(engine: RoutingEngine, agent_id: str) -> None:
    """The agent wraps up what they hold and accepts whatever routing offers them next."""
    for work_id in list(engine.agent(agent_id).holding):
        engine.complete(agent_id, work_id, "done")
    accept_offers(engine)


def answered_after(engine: RoutingEngine, work_id: str, turns: Iterator[str], clock: Clock, step: float,
                   arrivals: list[Work | None]) -> float:
    """Seconds until `work_id` is answered while the agents finish in turn every `step` seconds;
    before each turn the next of `arrivals` comes in (None: nothing does)."""
    arrived = clock.now
    for turn in itertools.count():
        if engine.get(work_id).state is WorkState.ASSIGNED:
            break
        clock.advance(step)
        template = arrivals[turn % len(arrivals)]
        if template is not None:
            engine.enqueue(dataclasses.replace(template, id=f"{template.id}-{turn}"))
        finish(engine, next(turns))
    return clock.now - arrived


def test_work_offered_on_arrival_is_told_it_will_not_wait_and_the_event_says_so(clock: Clock) -> None:
    engine = RoutingEngine(clock)
    engine.put_queue(QueueConfig(id="general", groups=("general",)))
    agent(engine, "A-zh", capacity={Channel.PHONE: 1}, languages=("zh",))
    agent(engine, "A-en", capacity={Channel.PHONE: 1}, languages=("en",))
    for i in range(6):
        engine.enqueue(call(f"zh-{i}", language="zh"))
    accept_offers(engine)
    engine.drain()
    # Five Chinese callers wait for the one Chinese speaker; the English speaker is free.
    english = engine.enqueue(call("en-0", language="en-US"))
    assert english.state is WorkState.OFFERED and english.estimated_wait == 0
    queued = next(n for n in engine.drain().notices if n.kind == "work_queued")
    assert queued.work is not None and queued.work.estimated_wait == 0


def test_a_caller_waits_behind_callers_of_their_own_language_only(clock: Clock) -> None:
    engine = RoutingEngine(clock)
    engine.put_queue(QueueConfig(id="general", groups=("general",), expected_handle_time=120))
    agent(engine, "A-zh", capacity={Channel.PHONE: 1}, languages=("zh",))
    agent(engine, "A-en", capacity={Channel.PHONE: 1}, languages=("en",))
    for i in range(6):
        engine.enqueue(call(f"zh-{i}", language="zh"))
    engine.enqueue(call("en-0", language="en"))
    second = engine.enqueue(call("en-1", language="en"))
    # Sixth in the queue's line, but first of those the English speaker takes: one handle time.
    assert engine.position("en-1").position == 6
    assert second.estimated_wait == pytest.approx(120)
    assert engine.position("zh-5").estimated_wait == pytest.approx(5 * 120)


def test_deep_in_a_line_its_agents_serve_alone_the_estimate_is_erlangs_and_comes_true(clock: Clock) -> None:
    engine = RoutingEngine(clock)
    engine.put_queue(QueueConfig(id="general", groups=("general",), expected_handle_time=120))
    for n in range(4):
        agent(engine, f"A-{n}", capacity={Channel.PHONE: 1})
    for i in range(44):
        engine.enqueue(call(f"c{i}"))
    accept_offers(engine)
    # Erlang's M/M/c figure for the 40th caller with all 4 agents busy: 40 × 120 s ÷ 4.
    assert engine.position("c43").estimated_wait == pytest.approx(1200)
    turns = itertools.cycle([f"A-{n}" for n in range(4)])
    # Staggered, each agent handles a call in 120 s: the line moves as the model says it does.
    waited = answered_after(engine, "c43", turns, clock, 30, [None])
    assert waited == pytest.approx(1200)


def test_an_email_behind_calls_on_a_blended_team_is_told_the_wait_it_gets(clock: Clock) -> None:
    engine = RoutingEngine(clock)
    engine.put_queue(QueueConfig(id="support/phone", groups=("support",), expected_handle_time=60))
    # Email is due in 4 h: the team takes every waiting call first.
    engine.put_queue(QueueConfig(id="support/email", groups=("support",), expected_handle_time=60,
                                 service_level_seconds=14_400))
    for name in ("A-1", "A-2"):
        agent(engine, name, groups=("support",), capacity={Channel.PHONE: 1, Channel.EMAIL: 1})
    for i in range(40):
        engine.enqueue(Work(id=f"e{i}", queue_id="support/email", channel=Channel.EMAIL))
    accept_offers(engine)
    turns = itertools.cycle(["A-1", "A-2"])
    # A call is waiting whenever an agent finishes, except every fourth time: then the agent
    # takes an email. Every 30 s one agent finishes, so the email line moves once in 120 s.
    calls = [call("call", queue_id="support/phone")] * 3 + [None]
    answered_after(engine, "e30", turns, clock, 30, calls)
    email = engine.enqueue(Work(id="late", queue_id="support/email", channel=Channel.EMAIL))
    place = engine.position("late").position
    waited = answered_after(engine, "late", turns, clock, 30, calls)
    assert waited == pytest.approx(place * 120, abs=120)
    # Told roughly that (the queue's first guess still weighs a little); the handle time spread
    # over the agents' email slots would say 30 s a place.
    handle = engine.queue_stats("support/email", 3600).average_handle_time
    assert live_wait(place, 2, handle) == pytest.approx(place * 30, rel=0.1)
    assert email.estimated_wait == pytest.approx(waited, rel=0.25)


def test_a_caller_is_offered_a_callback_when_their_line_moves_slower_than_its_handle_time(clock: Clock) -> None:
    engine = RoutingEngine(clock)
    # Billing's agents also take orders' calls, which come with a day's head start and go first.
    engine.put_queue(QueueConfig(id="billing", groups=("desk",), expected_handle_time=60, callback_threshold=60))
    engine.put_queue(QueueConfig(id="orders", groups=("desk",), expected_handle_time=60))
    for name in ("A-1", "A-2"):
        agent(engine, name, groups=("desk",), capacity={Channel.PHONE: 1})
    for i in range(12):
        engine.enqueue(call(f"b{i}", queue_id="billing"))
    accept_offers(engine)
    turns = itertools.cycle(["A-1", "A-2"])
    arrivals = [call("vip", queue_id="orders", base_priority=86_400)] * 2 + [None]
    # A billing caller is answered every third turn of 30 s: 90 s a place, not 60 s ÷ 2 agents.
    answered_after(engine, "b11", turns, clock, 30, arrivals)
    caller = engine.enqueue(call("late", queue_id="billing"))
    assert engine.position("late") == Position("late", 1, caller.estimated_wait, True, WorkState.WAITING)
    assert caller.estimated_wait > 60 > live_wait(1, 2, 60)
    assert answered_after(engine, "late", turns, clock, 30, arrivals) > 60
