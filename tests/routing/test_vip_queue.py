"""A queue's VIP queue: VIP work goes where agents dedicated to VIPs serve beside the queue's own."""

from __future__ import annotations

from omni.routing.domain.agents import AgentStatus
from omni.routing.domain.engine import RoutingEngine
from omni.routing.domain.queues import Policy, QueueConfig
from omni.routing.domain.transfers import TransferReason
from tests.routing.conftest import Clock
from tests.routing.test_engine import agent, call, offered


def desk_engine(clock: Clock) -> RoutingEngine:
    """`general` sends VIPs to `general/vip`, served by the general agents and the VIP desk."""
    engine = RoutingEngine(clock)
    engine.put_queue(QueueConfig(id="general", groups=("general",), policy=Policy(vip_queue="general/vip")))
    engine.put_queue(QueueConfig(id="general/vip", groups=("general", "vip-desk")))
    return engine


def test_a_vip_goes_to_the_vip_queue_and_the_desk_takes_nothing_else(clock: Clock) -> None:
    engine = desk_engine(clock)
    agent(engine, "desk-1", groups=("vip-desk",))
    engine.enqueue(call("normal"))
    # The desk agent is free and the normal caller waits: the desk is kept for VIPs.
    assert offered(engine, "desk-1") == []
    assert engine.get("normal").queue_id == "general"
    vip = engine.enqueue(call("vip", vip=True))
    assert vip.queue_id == "general/vip"
    assert offered(engine, "desk-1") == ["vip"]
    assert {r.code: r.detail for r in engine.get("vip").reasons}["vip_queue"] == "VIP customer: general -> general/vip"
    # A general agent takes the normal caller.
    agent(engine, "A-1")
    assert offered(engine, "A-1") == ["normal"]


def test_the_queues_own_agents_take_a_vip_first_when_the_desk_is_busy(clock: Clock) -> None:
    engine = desk_engine(clock)
    agent(engine, "desk-1", groups=("vip-desk",))
    engine.enqueue(call("vip-1", vip=True))
    engine.accept("desk-1", "vip-1")
    engine.enqueue(call("normal"))
    clock.advance(5)
    engine.enqueue(call("vip-2", vip=True))
    agent(engine, "A-1")
    # Both wait for A-1; the VIP's deadline comes first, whoever came first.
    assert offered(engine, "A-1") == ["vip-2"]


def test_a_vip_queue_this_engine_does_not_route_leaves_the_vip_in_its_queue(clock: Clock) -> None:
    engine = RoutingEngine(clock)
    engine.put_queue(QueueConfig(id="general", groups=("general",), policy=Policy(vip_queue="elsewhere/vip")))
    agent(engine, "A-1")
    vip = engine.enqueue(call("vip", vip=True))
    assert vip.queue_id == "general"
    assert offered(engine, "A-1") == ["vip"]
    assert {r.code: r.detail for r in vip.reasons}["vip_queue_unavailable"] == \
        "elsewhere/vip is not routed here; stays in general"


def test_a_vip_transferred_out_of_the_vip_queue_does_not_go_back_to_it(clock: Clock) -> None:
    engine = desk_engine(clock)
    engine.put_queue(QueueConfig(id="billing", groups=("billing",), policy=Policy(vip_queue="general/vip")))
    agent(engine, "desk-1", groups=("vip-desk",))
    agent(engine, "B-1", groups=("billing",))
    engine.enqueue(call("vip", vip=True))
    engine.accept("desk-1", "vip")
    moved = engine.transfer("vip", TransferReason.WRONG_QUEUE, target_queue_id="billing")
    # Billing would send a VIP to the VIP queue, but this one was just passed on from there.
    assert moved.queue_id == "billing"
    assert offered(engine, "B-1") == ["vip"]
    assert offered(engine, "desk-1") == []


def test_a_vip_transferred_to_a_queue_with_a_vip_queue_goes_there(clock: Clock) -> None:
    engine = desk_engine(clock)
    engine.put_queue(QueueConfig(id="billing", groups=("billing",)))
    agent(engine, "B-1", groups=("billing",))
    agent(engine, "desk-1", groups=("vip-desk",), ready=False)
    engine.enqueue(call("vip", vip=True, queue_id="billing"))
    engine.accept("B-1", "vip")
    engine.set_agent_status("desk-1", AgentStatus.AVAILABLE)
    moved = engine.transfer("vip", TransferReason.WRONG_QUEUE, target_queue_id="general")
    assert moved.queue_id == "general/vip"
    assert offered(engine, "desk-1") == ["vip"]
