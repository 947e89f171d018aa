"""Accessibility mode: customers with a need go to an agent trained for it when one is free."""

from __future__ import annotations

import pytest

from omni.routing.domain.agents import Agent, AgentStatus
from omni.routing.domain.engine import RoutingEngine
from omni.routing.domain.queues import QueueConfig
from omni.routing.domain.work import Work
from omni.runtime.accessibility import needs as accessibility_needs
from omni.runtime.channels import Channel
from omni.runtime.config import ServiceSettings
from omni.runtime.errors import InvalidArgument
from omni.runtime.events import EventBus
from omnichannel.common.v1 import common_pb2
from omnichannel.routing.v1.events_pb2 import WorkEvent
from omnichannel.sessions.v1 import events_pb2
from tests.routing.conftest import Clock, RoutingClient
from tests.support.events import EventRecorder


def engine_with_agents(clock: Clock, *agents: Agent) -> RoutingEngine:
    engine = RoutingEngine(clock)
    engine.put_queue(QueueConfig(id="general", groups=("general",)))
    for agent in agents:
        engine.put_agent(agent)
        engine.set_agent_status(agent.id, AgentStatus.AVAILABLE)
    return engine


def reasons(engine: RoutingEngine, work_id: str) -> dict[str, str]:
    return {r.code: r.detail for r in engine.get(work_id).reasons}


def test_a_hearing_impaired_customer_goes_to_the_trained_agent_and_the_offer_names_the_need(clock: Clock) -> None:
    # The untrained agent has been idle longer: without the need they would get the chat. (Chat
    # desks only: a desk that takes calls too would get the second chat beside the first.)
    chats = {Channel.CHAT: 3}
    engine = engine_with_agents(clock, Agent(id="A-1", groups=("general",), capacity=chats))
    clock.advance(60)
    engine.put_agent(Agent(id="A-2", groups=("general",), skills={"accessibility:hearing": 3}, capacity=chats))
    engine.set_agent_status("A-2", AgentStatus.AVAILABLE)
    work = engine.enqueue(Work(id="W-1", queue_id="general", channel=Channel.CHAT, accessibility=("hearing",)))
    assert work.offered_agent_id == "A-2"
    assert reasons(engine, "W-1")["accessibility"] == "hearing: trained agent"
    assert reasons(engine, "W-1")["accessibility_need"] == "hearing"
    other = engine.enqueue(Work(id="W-2", queue_id="general", channel=Channel.CHAT))
    assert other.offered_agent_id == "A-1"


def test_without_a_trained_agent_free_the_customer_is_not_kept_waiting(clock: Clock) -> None:
    engine = engine_with_agents(clock, Agent(id="A-2", groups=("general",), skills={"accessibility:vision": 3}))
    engine.enqueue(Work(id="busy", queue_id="general", channel=Channel.PHONE))
    engine.accept("A-2", "busy")
    engine.put_agent(Agent(id="A-1", groups=("general",)))
    engine.set_agent_status("A-1", AgentStatus.AVAILABLE)
    call = engine.enqueue(Work(id="W-1", queue_id="general", channel=Channel.PHONE, accessibility=("vision",)))
    assert call.offered_agent_id == "A-1"
    assert reasons(engine, "W-1")["accessibility"] == "vision: no trained agent free"


@pytest.mark.parametrize("hostile", [["x"] * 9, ["a" * 41]])
def test_needs_named_on_a_contact_are_limited(hostile: list[str]) -> None:
    with pytest.raises(InvalidArgument):
        accessibility_needs(hostile)
    assert accessibility_needs([" Hearing ", "hearing", "", "vision"]) == ("hearing", "vision")


async def test_a_call_whose_adapter_named_a_need_is_queued_with_it(routing: RoutingClient,
                                                                    settings: ServiceSettings) -> None:
    """Sessions puts the caller's needs (from the telephony adapter or an accessible line) in the
    interaction's attributes; routing queues the call with them, the need named in its reasons."""
    await routing.queue("general")
    bus = await EventBus.connect(settings.nats_url, "sessions")
    try:
        async with await EventRecorder.start(settings.nats_url, "routing") as recorder:
            interaction = common_pb2.Interaction(
                id="I-1", session_id="S-acc", channel=common_pb2.CHANNEL_PHONE, direction=common_pb2.DIRECTION_INBOUND,
                queue="general", intent="agent_request", attributes={"accessibility": "hearing,elderly"})
            await bus.publish("sessions", "interaction_received", "sessions/S-acc",
                              events_pb2.InteractionReceived(interaction=interaction), event_id="I-1")
            await recorder.wait("work_queued", WorkEvent, lambda e: e.work.id == "S-acc")
        work = await routing.work("S-acc")
        assert list(work.accessibility) == ["hearing", "elderly"]
        assert ("accessibility_need", "hearing, elderly") in [(r.code, r.detail) for r in work.reasons]
    finally:
        await bus.close()
