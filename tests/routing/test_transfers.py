"""Transfers name a reason code, and repeats are counted per contact and per queue."""

from __future__ import annotations

import asyncio
from typing import Any

import grpc
import pytest
from google.protobuf.duration_pb2 import Duration

from omni.routing.domain.agents import Agent, AgentStatus
from omni.routing.domain.engine import RoutingEngine
from omni.routing.domain.queues import QueueConfig
from omni.routing.domain.transfers import TransferReason
from omni.routing.domain.work import Work
from omni.runtime import clients
from omni.runtime.auth import Role
from omni.runtime.channels import Channel
from omni.runtime.config import ServiceSettings
from omni.runtime.errors import InvalidArgument
from omnichannel.routing.v1 import routing_pb2, routing_pb2_grpc
from tests.conftest import StartService
from tests.routing.conftest import CHAT, Clock, RoutingClient
from tests.routing.replicas import second_replica
from tests.support.polling import eventually


def engine_with_two_queues(clock: Clock) -> RoutingEngine:
    engine = RoutingEngine(clock)
    engine.put_queue(QueueConfig(id="general", groups=("general",), service_level_seconds=20))
    engine.put_queue(QueueConfig(id="billing", groups=("billing",), service_level_seconds=120))
    engine.put_queue(QueueConfig(id="refunds", groups=("billing",), service_level_seconds=120))
    for agent_id, group in (("G-1", "general"), ("B-1", "billing")):
        engine.put_agent(Agent(id=agent_id, groups=(group,)))
        engine.set_agent_status(agent_id, AgentStatus.AVAILABLE)
    return engine


def test_the_transfer_reason_names_the_code_and_the_event_the_note(clock: Clock) -> None:
    engine = engine_with_two_queues(clock)
    engine.enqueue(Work(id="W-1", queue_id="general", channel=Channel.PHONE))
    engine.accept("G-1", "W-1")
    engine.drain()
    work = engine.transfer("W-1", TransferReason.WRONG_QUEUE, "billing question", target_queue_id="billing")
    assert work.reasons[0].code == "transfer" and work.reasons[0].detail == "wrong_queue: billing question"
    [event] = [n for n in engine.drain().notices if n.kind == "work_transferred"]
    assert (event.agent_id, event.reason) == ("G-1", "billing question")


def test_a_code_is_required_and_other_needs_words(clock: Clock) -> None:
    engine = engine_with_two_queues(clock)
    engine.enqueue(Work(id="W-1", queue_id="general", channel=Channel.PHONE))
    with pytest.raises(InvalidArgument, match="reason_code: one of wrong_queue"):
        engine.transfer("W-1", None, "billing", target_queue_id="billing")
    with pytest.raises(InvalidArgument, match="'other' needs a reason"):
        engine.transfer("W-1", TransferReason.OTHER, "  ", target_queue_id="billing")
    assert engine.get("W-1").transfer_count == 0


def test_repeat_transfers_are_counted_per_contact_and_per_queue(clock: Clock) -> None:
    engine = engine_with_two_queues(clock)
    engine.enqueue(Work(id="W-1", queue_id="general", channel=Channel.PHONE))
    engine.accept("G-1", "W-1")
    engine.transfer("W-1", TransferReason.WRONG_QUEUE, target_queue_id="billing")
    engine.accept("B-1", "W-1")
    engine.transfer("W-1", TransferReason.NEEDS_SKILL, target_queue_id="refunds")
    assert engine.get("W-1").transfer_count == 2
    general, billing = (engine.queue_stats(q, 900).window for q in ("general", "billing"))
    assert (general.transfers, general.repeat_transfers) == (1, 0)
    assert (billing.transfers, billing.repeat_transfers) == (1, 1)


class Desk:
    """An agent's desktop stream, followed to the replica serving the agent."""

    def __init__(self, chan: grpc.aio.Channel, agent_id: str, metadata: tuple[tuple[str, str], ...]) -> None:
        self.commands: asyncio.Queue[routing_pb2.AgentCommand | None] = asyncio.Queue()
        login = routing_pb2.AgentCommand(login=routing_pb2.AgentLogin(agent_id=agent_id))
        self.events = clients.following_stream(chan, lambda c: clients.fed(
            routing_pb2_grpc.RoutingServiceStub(c).AgentSession(metadata=metadata), login, self.commands))
        self.commands.put_nowait(routing_pb2.AgentCommand(set_state=routing_pb2.SetAgentStateRequest(
            agent_id=agent_id, status=routing_pb2.AGENT_STATUS_AVAILABLE)))

    async def next(self, kind: str) -> Any:
        async with asyncio.timeout(20):
            async for event in self.events:
                if event.WhichOneof("event") == kind:
                    return getattr(event, kind)
        raise AssertionError(f"the desk stream ended before a {kind} event")

    async def close(self) -> None:
        await self.events.aclose()  # type: ignore[attr-defined]


async def test_a_transfer_to_a_queue_another_replica_routes_is_taken_there_with_its_transfer_time(
        routing: RoutingClient, start_service: StartService, settings: ServiceSettings) -> None:
    await routing.queue("general")
    await routing.queue("tech")
    await routing.agent("G-1", groups=("general",), available=False)
    await routing.agent("T-1", groups=("tech",), available=False)
    await second_replica(start_service, settings, routing.host.address, ("general", "tech"))
    admin = routing.admin
    async with clients.channel(routing.host.address) as chan:
        stub = routing_pb2_grpc.RoutingServiceStub(chan)

        async def work(work_id: str) -> routing_pb2.WorkItem:
            return await stub.GetWorkItem(routing_pb2.GetWorkItemRequest(id=work_id), metadata=admin)

        async def enqueue(work_id: str, queue_id: str) -> None:
            await stub.EnqueueWork(routing_pb2.EnqueueWorkRequest(work=routing_pb2.WorkItem(
                id=work_id, queue_id=queue_id, channel=CHAT, session_id=work_id)), metadata=admin)

        general = Desk(chan, "G-1", admin)
        await enqueue("W-1", "general")
        offer = await general.next("offer")
        await general.commands.put(routing_pb2.AgentCommand(accept=routing_pb2.AcceptOffer(offer_id=offer.id)))
        await general.next("assigned")
        moved = await stub.TransferWork(routing_pb2.TransferWorkRequest(
            work_id="W-1", target_queue_id="tech", reason_code=routing_pb2.TRANSFER_REASON_NEEDS_SKILL,
            reason="router settings"), metadata=routing.token_for(Role.AGENT, "G-1", groups=("general",)))
        assert (moved.queue_id, moved.state) == ("tech", routing_pb2.WORK_STATE_WAITING)
        # A contact for tech arriving right after the transfer, before the other replica took it.
        await enqueue("W-2", "tech")
        await eventually(
            lambda: stub.GetQueueStats(routing_pb2.GetQueueStatsRequest(queue_id="tech"), metadata=admin),
            lambda s: s.waiting == 2, what="both contacts waiting in tech at the replica routing it")

        # T-1, at a desk on the replica routing tech, is offered the transferred contact first.
        tech = Desk(chan, "T-1", admin)
        first = (await tech.next("offer")).work
        assert first.id == "W-1" and first.reasons[0].code == "transfer"
        assert first.enqueue_time.ToDatetime() <= (await work("W-2")).enqueue_time.ToDatetime()
        assert (await work("W-1")).transfer_count == 1
        await general.close()
        await tech.close()


async def test_the_last_ring_overflows_into_a_queue_another_replica_routes(
        routing: RoutingClient, start_service: StartService, settings: ServiceSettings) -> None:
    await routing.queue("general", policy=routing_pb2.RoutingPolicy(
        overflow_queue="tech", overflow_after=Duration(seconds=1)))
    await routing.queue("tech")
    await routing.agent("T-1", groups=("tech",), available=False)
    await second_replica(start_service, settings, routing.host.address, ("general", "tech"))
    admin = routing.admin
    async with clients.channel(routing.host.address) as chan:
        stub = routing_pb2_grpc.RoutingServiceStub(chan)
        # Nobody of general is there: after a second the contact moves on to tech, whose agent
        # (at a desk on the replica routing tech) is offered it.
        await stub.EnqueueWork(routing_pb2.EnqueueWorkRequest(work=routing_pb2.WorkItem(
            id="W-9", queue_id="general", channel=CHAT, session_id="W-9")), metadata=admin)
        tech = Desk(chan, "T-1", admin)
        offered = (await tech.next("offer")).work
        assert (offered.id, offered.queue_id) == ("W-9", "tech")
        assert "ring_overflow" in [r.code for r in offered.reasons]
        await tech.close()
def test_transferred_work_keeps_the_customers_wait_target_and_the_wait_already_spent(clock: Clock) -> None:
    engine = engine_with_two_queues(clock)
    engine.set_agent_status("G-1", AgentStatus.BREAK)
    engine.set_agent_status("B-1", AgentStatus.BREAK)
    engine.enqueue(Work(id="W-1", queue_id="general", channel=Channel.PHONE))
    clock.advance(15)  # 15 s in line for general (target 20 s)
    engine.set_agent_status("G-1", AgentStatus.AVAILABLE)
    engine.accept("G-1", "W-1")
    clock.advance(300)  # five minutes with the wrong agent: not waiting
    engine.enqueue(Work(id="W-2", queue_id="billing", channel=Channel.PHONE))
    clock.advance(10)
    work = engine.transfer("W-1", TransferReason.WRONG_QUEUE, "billing question", target_queue_id="billing")
    # Due in the 5 s left of its 20 s target, not billing's 120 s from now: ahead of W-2, which
    # came to billing before the transfer.
    assert (work.target, work.deadline, work.waited) == (20, clock.now + 5, 15)
    assert [w.id for w in engine.waiting("billing")] == ["W-1", "W-2"]
    assert {r.code: r.detail for r in work.reasons}["deadline_kept"] == \
        "the 20s target, 15s of it waited before the transfer"
    engine.set_agent_status("B-1", AgentStatus.AVAILABLE)
    assert engine.get("W-1").offered_agent_id == "B-1"
    # Its wait in billing counts from the transfer, not from the first arrival.
    engine.accept("B-1", "W-1")
    assert engine.queue_stats("billing", 900).window.average_speed_of_answer == 0


def test_a_transfer_to_a_queue_with_a_shorter_target_takes_the_earlier_deadline(clock: Clock) -> None:
    engine = engine_with_two_queues(clock)
    engine.enqueue(Work(id="W-1", queue_id="billing", channel=Channel.PHONE))
    engine.accept("B-1", "W-1")
    work = engine.transfer("W-1", TransferReason.WRONG_QUEUE, target_queue_id="general")
    assert work.target == 20 and work.deadline == work.enqueue_time + 20
    assert "deadline_kept" not in {r.code for r in work.reasons}


def test_a_transferred_email_takes_the_target_queues_deadline(clock: Clock) -> None:
    engine = engine_with_two_queues(clock)
    engine.enqueue(Work(id="M-1", queue_id="general", channel=Channel.EMAIL))
    clock.advance(3600)
    work = engine.transfer("M-1", TransferReason.WRONG_QUEUE, target_queue_id="billing")
    assert work.deadline == clock.now + 120 and work.waited == 3600
