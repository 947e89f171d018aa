"""What routing does with the outcome of a callback's call (`callbacks.after_call`, the rule the
service and the simulator share), on the engine with a hand-driven clock: answered only when a
call reaches the customer, a redial held without lengthening anyone's wait, put off to the
customer's best hour, and the reminder SMS of a redial booked at night sent when the night ends."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from omni.routing.domain import callbacks
from omni.routing.domain.agents import Agent, AgentStatus
from omni.routing.domain.attempts import AttemptPolicy
from omni.routing.domain.best_time import AnswerRates, CallCounts
from omni.routing.domain.engine import RoutingEngine
from omni.routing.domain.queues import BusinessHours, QueueConfig
from omni.routing.domain.work import Work, WorkState
from omni.runtime.channels import Channel
from tests.routing.conftest import Clock

SHANGHAI = "Asia/Shanghai"
POLICY = AttemptPolicy((1800.0, 6 * 3600.0), max_attempts=3, quiet_hours="21:00-09:00", sms_attempts=(2,),
                       best_time_window=12 * 3600.0)


def at(text: str) -> float:
    return dt.datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(SHANGHAI)).timestamp()


def local(seconds: float) -> str:
    return dt.datetime.fromtimestamp(seconds, ZoneInfo(SHANGHAI)).strftime("%H:%M")


def setup(clock: Clock) -> RoutingEngine:
    engine = RoutingEngine(clock)
    engine.put_queue(QueueConfig(id="general", groups=("general",), expected_handle_time=300,
                                 hours=BusinessHours(time_zone=SHANGHAI), callback_attempts=POLICY))
    for agent_id in ("A-1", "A-2"):
        engine.put_agent(Agent(id=agent_id, groups=("general",), capacity={Channel.PHONE: 1}))
    return engine


def call(work_id: str) -> Work:
    return Work(id=work_id, queue_id="general", channel=Channel.PHONE)


def callback_called(engine: RoutingEngine, clock: Clock) -> None:
    """c0 books a callback and A-1 takes it (the call starts)."""
    engine.enqueue(call("c0"))
    engine.schedule_callback("c0", "+8613800000000")
    engine.set_agent_status("A-1", AgentStatus.AVAILABLE)
    clock.advance(30)
    engine.accept("A-1", "c0")


def test_a_callback_is_answered_in_the_statistics_only_when_a_call_reaches_the_customer() -> None:
    clock = Clock()
    clock.now = at("2026-06-01T10:00")
    engine = setup(clock)
    callback_called(engine, clock)
    assert engine.queue_stats("general", 3600).window.answered == 0  # accepted, still ringing
    clock.advance(30)
    assert callbacks.after_call(engine, "c0", 1, False, "no_answer", default=POLICY)
    assert engine.queue_stats("general", 3600).window.answered == 0
    assert engine.get("c0").state is WorkState.CALLBACK_SCHEDULED
    assert not callbacks.after_call(engine, "c0", 1, False, "no_answer", default=POLICY)  # counted already
    clock.now = engine.get("c0").not_before
    engine.tick()
    engine.accept("A-1", "c0")
    assert callbacks.after_call(engine, "c0", 2, True, "answered", default=POLICY)
    window = engine.queue_stats("general", 3 * 3600).window
    assert window.answered == 1 and window.average_speed_of_answer > 1800  # from booking to the call that reached


def test_a_callback_held_for_its_redial_is_nobodys_wait_until_it_is_due() -> None:
    clock = Clock()
    clock.now = at("2026-06-01T10:00")
    engine = setup(clock)
    callback_called(engine, clock)
    callbacks.after_call(engine, "c0", 1, False, "no_answer", default=POLICY)
    engine.enqueue(call("busy"))
    engine.accept("A-1", "busy")  # one agent, busy for about a handle time (300 s)
    engine.enqueue(call("c1"))
    engine.enqueue(call("c2"))
    # c0 keeps its place (first in line) but is not due: c1 is told the wait of the first place.
    assert [engine.position(w).position for w in ("c0", "c1", "c2")] == [1, 2, 3]
    assert [engine.position(w).estimated_wait for w in ("c1", "c2")] == [300, 600]
    clock.now = engine.get("c0").not_before
    engine.tick()
    # Due again: it is ahead of both, and the first one a free agent is offered.
    assert [engine.position(w).estimated_wait for w in ("c1", "c2")] == [600, 900]
    engine.set_agent_status("A-2", AgentStatus.AVAILABLE)
    assert sorted(engine.agent("A-2").offered) == ["c0"]


def test_the_redial_goes_to_the_best_hour_and_a_reminder_booked_at_night_waits_for_morning() -> None:
    clock = Clock()
    clock.now = at("2026-06-01T10:00")
    engine = setup(clock)
    callback_called(engine, clock)
    evenings = CallCounts.of([(day * 24 + 19, True) for day in range(7)] * 2
                             + [(day * 24 + 10, False) for day in range(7)] * 2)
    callbacks.after_call(engine, "c0", 1, False, "busy", default=POLICY,
                         rates=AnswerRates(customer=CallCounts(), segment=evenings))
    assert local(engine.get("c0").not_before) == "19:00"
    sms = [n for n in engine.drain().notices if n.kind == "callback_sms_requested"]
    assert len(sms) == 1 and sms[0].at == clock.now  # booked by day: sent at once

    night = Clock()
    night.now = at("2026-06-01T20:50")
    engine = setup(night)
    callback_called(engine, night)
    night.advance(15 * 60)  # nobody answered; the call ends at 21:05
    callbacks.after_call(engine, "c0", 1, False, "no_answer", default=POLICY)
    assert local(engine.get("c0").not_before) == "09:00"
    sms = [n for n in engine.drain().notices if n.kind == "callback_sms_requested"]
    assert len(sms) == 1 and local(sms[0].at) == "09:00"  # postponed to the end of the night, not skipped
