"""Who may do what on RoutingService: a token on every call, agents held to their groups and to
themselves, customers to the work of their own session."""

from __future__ import annotations

import grpc
import pytest

from omni.routing.service import ACCESS
from omni.runtime.auth import Role
from omnichannel.routing.v1 import routing_pb2
from tests.routing.conftest import CHAT, RoutingClient
from tests.routing.test_desktop import Desk
from tests.rpc_access import assert_every_rpc_needs_a_token, assert_table_matches_protos
from tests.support.polling import eventually


async def denied(call: object) -> str:
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await call  # type: ignore[misc]
    assert failure.value.code() == grpc.StatusCode.PERMISSION_DENIED, failure.value.details()
    return failure.value.details() or ""


async def test_every_rpc_has_a_rule_and_needs_a_token(routing: RoutingClient) -> None:
    assert_table_matches_protos(ACCESS, routing_pb2.DESCRIPTOR)
    await assert_every_rpc_needs_a_token(routing.host.address, routing_pb2.DESCRIPTOR)


async def test_an_agent_lists_finished_work_of_their_groups_only(routing: RoutingClient) -> None:
    for queue in ("billing", "complaints"):
        await routing.queue(queue)
        await routing.enqueue(f"W-{queue}", queue)
        await routing.stub.AbandonWork(routing_pb2.AbandonWorkRequest(work_id=f"W-{queue}"), metadata=routing.admin)
    agent = routing.token_for(Role.AGENT, "A-1", groups=("billing",))
    finished = await routing.stub.ListWorkItems(routing_pb2.ListWorkItemsRequest(
        state=routing_pb2.WORK_STATE_ABANDONED), metadata=agent)
    assert [w.id for w in finished.work_items] == ["W-billing"]
    everything = await routing.stub.ListWorkItems(routing_pb2.ListWorkItemsRequest(
        state=routing_pb2.WORK_STATE_ABANDONED), metadata=routing.admin)
    assert len(everything.work_items) == 2


async def test_an_agent_sees_the_queues_and_colleagues_of_their_groups_only(routing: RoutingClient) -> None:
    for queue in ("billing", "complaints"):
        await routing.queue(queue)
    await routing.agent("A-1", groups=("billing",), available=False)
    await routing.agent("A-2", groups=("billing", "complaints"), available=False)
    await routing.agent("A-3", groups=("complaints",), available=False)
    agent = routing.token_for(Role.AGENT, "A-1", groups=("billing",))
    stub = routing.stub

    queues = await stub.ListQueues(routing_pb2.ListQueuesRequest(), metadata=agent)
    assert [q.id for q in queues.queues] == ["billing"]
    assert "outside your groups" in await denied(stub.GetQueue(routing_pb2.GetQueueRequest(id="complaints"),
                                                               metadata=agent))
    assert (await stub.GetQueue(routing_pb2.GetQueueRequest(id="billing"), metadata=agent)).id == "billing"
    stats = await stub.ListQueueStats(routing_pb2.ListQueueStatsRequest(), metadata=agent)
    assert [s.queue_id for s in stats.stats] == ["billing"]
    await denied(stub.GetQueueStats(routing_pb2.GetQueueStatsRequest(queue_id="complaints"), metadata=agent))

    agents = await stub.ListAgents(routing_pb2.ListAgentsRequest(), metadata=agent)
    assert [a.id for a in agents.agents] == ["A-1", "A-2"]
    assert "A-3" in await denied(stub.GetAgent(routing_pb2.GetAgentRequest(id="A-3"), metadata=agent))
    assert (await stub.GetAgent(routing_pb2.GetAgentRequest(id="A-2"), metadata=agent)).id == "A-2"
    supervisor = routing.token_for(Role.SUPERVISOR, "S-1")
    assert len((await stub.ListAgents(routing_pb2.ListAgentsRequest(), metadata=supervisor)).agents) == 3


async def test_an_agent_cannot_abandon_or_reschedule_a_waiting_customer(routing: RoutingClient) -> None:
    await routing.queue("billing")
    await routing.enqueue("S-1", "billing")
    agent = routing.token_for(Role.AGENT, "A-1", groups=("billing",))
    await denied(routing.stub.AbandonWork(routing_pb2.AbandonWorkRequest(work_id="S-1"), metadata=agent))
    await denied(routing.stub.ScheduleCallback(routing_pb2.ScheduleCallbackRequest(
        work_id="S-1", number="+8613800000000"), metadata=agent))
    assert (await routing.work("S-1")).state == routing_pb2.WORK_STATE_WAITING
    owner = routing.token_for(Role.CUSTOMER, "C-1", session_id="S-1")
    left = await routing.stub.AbandonWork(routing_pb2.AbandonWorkRequest(work_id="S-1"), metadata=owner)
    assert left.state == routing_pb2.WORK_STATE_ABANDONED


async def test_an_agent_cannot_take_finish_or_transfer_another_agents_work(routing: RoutingClient) -> None:
    await routing.queue("general")
    await routing.agent("A-1", available=False)
    await routing.agent("A-2", available=False)
    mine, theirs = Desk(routing, "A-1"), Desk(routing, "A-2")
    await mine.next("agent")
    await theirs.next("agent")
    mine.send(set_state=routing_pb2.SetAgentStateRequest(agent_id="A-1", status=routing_pb2.AGENT_STATUS_AVAILABLE))
    await mine.next("agent")
    await routing.enqueue("S-1", channel=CHAT)
    offer = await mine.next("offer")
    theirs.send(accept=routing_pb2.AcceptOffer(offer_id=offer.id))
    assert "no longer open for A-2" in await theirs.next("error")
    mine.send(accept=routing_pb2.AcceptOffer(offer_id=offer.id))
    await mine.next("assigned")
    theirs.send(wrap_up=routing_pb2.WrapUp(work_id="S-1", disposition="resolved"))
    assert "only the assigned agent" in await theirs.next("error")
    a2 = routing.token_for(Role.AGENT, "A-2", groups=("general",))
    assert "only the agent holding" in await denied(routing.stub.TransferWork(routing_pb2.TransferWorkRequest(
        work_id="S-1", reason="not mine", target_queue_id="general",
        reason_code=routing_pb2.TRANSFER_REASON_WRONG_QUEUE), metadata=a2))
    assert (await routing.work("S-1")).assigned_agent_id == "A-1"
    for desk in (mine, theirs):
        desk.commands.put_nowait(None)


async def test_only_a_supervisor_takes_work_over_and_only_to_themselves(routing: RoutingClient) -> None:
    await routing.queue("general")
    await routing.agent("A-1")
    await routing.enqueue("S-9", channel=CHAT)
    takeover = routing_pb2.TRANSFER_REASON_SUPERVISOR_TAKEOVER

    def take(to: str, who: object) -> object:
        return routing.stub.TransferWork(routing_pb2.TransferWorkRequest(
            work_id="S-9", target_agent_id=to, reason_code=takeover), metadata=who)

    await denied(take("A-1", routing.token_for(Role.AGENT, "A-1", groups=("general",))))
    await routing.agent("S-1", supervisor=True)
    boss = routing.token_for(Role.SUPERVISOR, "S-1", groups=("general",))
    assert "name yourself (S-1)" in await denied(take("A-1", boss))
    moved = await take("S-1", boss)  # type: ignore[misc]
    assert moved.reasons[0].code == "transfer" and moved.reasons[0].detail == "supervisor_takeover"
    offered = await eventually(lambda: routing.work("S-9"), lambda w: w.offered_agent_id == "S-1",
                               what="the taken-over work offered to the supervisor")
    assert offered.transfer_count == 1
