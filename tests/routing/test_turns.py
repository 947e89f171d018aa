"""Emotion and emergencies per customer turn: a conversation already in routing is re-ranked and
escalated when a later turn crosses the threshold, brings an emergency or keeps heating up."""

from __future__ import annotations

from omni.routing.domain.agents import Agent, AgentStatus
from omni.routing.domain.engine import RoutingEngine
from omni.routing.domain.queues import Policy, QueueConfig
from omni.routing.domain.work import Turn, Work, WorkState
from omni.runtime.channels import Channel
from omni.runtime.config import ServiceSettings
from omni.runtime.events import EventBus
from omnichannel.common.v1 import common_pb2
from omnichannel.routing.v1.events_pb2 import WorkEvent
from omnichannel.sessions.v1 import events_pb2
from tests.routing.conftest import CHAT, Clock, RoutingClient
from tests.support.events import EventRecorder


def complaints(clock: Clock) -> RoutingEngine:
    engine = RoutingEngine(clock)
    engine.put_queue(QueueConfig(id="complaints", intents=("complaint",), groups=("desk",),
                                 service_level_seconds=60, policy=Policy(supervisor_wait=30.0)))
    return engine


def call(work_id: str, **fields: object) -> Work:
    return Work(id=work_id, queue_id="complaints", channel=Channel.PHONE, interaction_id=f"{work_id}-0",
                **fields)  # type: ignore[arg-type]


def ready(engine: RoutingEngine, agent_id: str, **fields: object) -> None:
    engine.put_agent(Agent(id=agent_id, groups=("desk",), **fields))  # type: ignore[arg-type]
    engine.set_agent_status(agent_id, AgentStatus.AVAILABLE)


def escalations(engine: RoutingEngine) -> list[tuple[str, str, str]]:
    return [(n.work.id, n.agent_id, n.reason) for n in engine.drain().notices
            if n.kind == "work_escalated" and n.work is not None]


def test_a_turn_that_crosses_the_threshold_jumps_the_line_and_goes_to_a_supervisor(clock: Clock) -> None:
    engine = complaints(clock)
    for n in range(3):
        engine.enqueue(call(f"calm-{n}", emotion_score=2, turn_scores=(2,)))
        clock.advance(5)
    heated = engine.enqueue(call("heated", emotion_score=3, turn_scores=(3,)))
    assert [w.id for w in engine.waiting("complaints")][-1] == "heated" and not heated.escalated
    engine.drain()
    clock.advance(5)
    engine.customer_turn("heated", Turn("heated-1", 9, 9, False, "I am furious, this is unacceptable!!"))
    assert engine.waiting("complaints")[0].id == "heated"
    assert (heated.target, heated.escalated, heated.emotion_score) == (10.0, True, 9)
    assert escalations(engine) == [("heated", "", "turn_angry: emotion 9 >= 8")]
    # A colleague comes free first: the escalated call waits for the supervisor ...
    ready(engine, "A-1")
    assert sorted(engine.agent("A-1").offered) == ["calm-0"]
    ready(engine, "SUP", supervisor=True)
    assert sorted(engine.agent("SUP").offered) == ["heated"]
    assert "turn_angry" in [r.code for r in engine.get("heated").reasons]


def test_a_conversation_that_keeps_heating_up_is_escalated_before_the_threshold(clock: Clock) -> None:
    engine = complaints(clock)
    work = engine.enqueue(call("rising", emotion_score=3, turn_scores=(3,)))
    flat = engine.enqueue(call("flat", emotion_score=5, turn_scores=(5,)))
    engine.drain()
    engine.customer_turn("rising", Turn("rising-1", 5, 5, False))
    engine.customer_turn("flat", Turn("flat-1", 5, 5, False))
    engine.customer_turn("flat", Turn("flat-2", 5, 4, False))
    assert escalations(engine) == [] and not work.escalated
    engine.customer_turn("rising", Turn("rising-2", 7, 7, False))
    assert escalations(engine) == [("rising", "", "emotion_rising: 3 -> 5 -> 7")]
    assert work.escalated and work.target == 10.0 and not flat.escalated
    # The same turn delivered again changes nothing.
    engine.customer_turn("rising", Turn("rising-2", 7, 7, False))
    assert escalations(engine) == []


def test_an_emergency_in_a_later_turn_of_connected_work_tells_the_supervisors(clock: Clock) -> None:
    engine = complaints(clock)
    ready(engine, "A-1")
    engine.enqueue(call("talking", emotion_score=1, turn_scores=(1,)))
    engine.accept("A-1", "talking")
    engine.drain()
    engine.customer_turn("talking", Turn("talking-1", 2, 2, False, "there is smoke, this is an EMERGENCY"))
    assert escalations(engine) == [("talking", "A-1", "turn_urgent: an emergency in a later turn")]
    work = engine.get("talking")
    assert (work.state, work.assigned_agent_id, work.urgent) == (WorkState.ASSIGNED, "A-1", True)


def _interaction(interaction_id: str, emotion: int, turn: int) -> events_pb2.InteractionReceived:
    return events_pb2.InteractionReceived(interaction=common_pb2.Interaction(
        id=interaction_id, session_id="S-9", channel=CHAT, direction=common_pb2.DIRECTION_INBOUND, queue="complaints",
        intent="complaint", text="...", emotion_score=emotion, turn_emotion_score=turn))


async def test_a_later_interaction_escalates_waiting_work_and_routing_publishes_it(
        routing: RoutingClient, settings: ServiceSettings) -> None:
    await routing.queue("complaints", intents=["complaint"])
    bus = await EventBus.connect(settings.nats_url, "sessions")
    try:
        async with await EventRecorder.start(settings.nats_url, "routing") as recorder:
            await bus.publish("sessions", "interaction_received", "sessions/S-9", _interaction("I-0", 2, 2),
                              event_id="I-0")
            await recorder.wait("work_queued", WorkEvent, lambda e: e.work.id == "S-9")
            await bus.publish("sessions", "interaction_received", "sessions/S-9", _interaction("I-1", 9, 9),
                              event_id="I-1")
            [escalated] = await recorder.wait("work_escalated", WorkEvent, lambda e: e.work.id == "S-9")
            assert escalated.reason == "turn_angry: emotion 9 >= 8"
            assert escalated.work.emotion_score == 9
            assert "turn_angry" in [r.code for r in (await routing.work("S-9")).reasons]
    finally:
        await bus.close()
