"""The routing service over gRPC: queues, agents, work, statistics, access."""

from __future__ import annotations

from typing import Any

import grpc
import pytest
from google.protobuf.field_mask_pb2 import FieldMask

from omni.runtime.auth import Role
from omnichannel.routing.v1 import routing_pb2
from tests.routing.conftest import CHAT, RoutingClient, seconds


async def test_queue_stats_for_the_operator(routing: RoutingClient) -> None:
    await routing.queue("billing", service_level_percent=80, service_level_seconds=20)
    for i in range(3):
        await routing.enqueue(f"W-{i}", "billing", channel=CHAT, intent="refund")
    service = routing.token_for(Role.SERVICE, "operator")
    stats = await routing.stub.GetQueueStats(routing_pb2.GetQueueStatsRequest(queue_id="billing",
                                                                              window=seconds(60)), metadata=service)
    assert stats.waiting == 3 and stats.offered == 3 and stats.agents_logged_in == 0
    assert stats.arrival_rate == pytest.approx(3 / 60)
    assert stats.window.seconds == 60 and stats.HasField("as_of")
    await routing.agent("A-1", groups=("billing",))
    listed = await routing.stub.ListQueueStats(routing_pb2.ListQueueStatsRequest(), metadata=service)
    [billing] = listed.stats
    assert billing.agents_logged_in == 1 and billing.waiting == 0  # 3 chats offered to A-1's 3 slots
    await routing.stub.AbandonWork(routing_pb2.AbandonWorkRequest(work_id="W-0"), metadata=service)
    after = await routing.stub.GetQueueStats(routing_pb2.GetQueueStatsRequest(queue_id="billing"), metadata=service)
    assert after.abandoned == 1


async def test_bad_input_gets_actionable_errors(routing: RoutingClient) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as missing:
        await routing.stub.GetQueueStats(routing_pb2.GetQueueStatsRequest(queue_id="nope"), metadata=routing.admin)
    assert missing.value.code() == grpc.StatusCode.NOT_FOUND and "does not exist" in (missing.value.details() or "")
    with pytest.raises(grpc.aio.AioRpcError) as skill:
        await routing.stub.CreateAgent(routing_pb2.CreateAgentRequest(agent=routing_pb2.Agent(
            id="A-1", skills=[routing_pb2.Skill(name="billing", proficiency=7)])), metadata=routing.admin)
    assert skill.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "1..5" in (skill.value.details() or "")
    await routing.queue("general")
    with pytest.raises(grpc.aio.AioRpcError) as again:
        await routing.queue("general")
    assert again.value.code() == grpc.StatusCode.ALREADY_EXISTS
    await routing.enqueue("W-1")
    with pytest.raises(grpc.aio.AioRpcError) as transfer:
        await routing.stub.TransferWork(routing_pb2.TransferWorkRequest(work_id="W-1", target_queue_id="general"),
                                        metadata=routing.admin)
    assert transfer.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "reason" in (transfer.value.details() or "")
    for request, complaint in (
            (routing_pb2.TransferWorkRequest(work_id="W-1", reason="no code", target_queue_id="general"),
             "needs a reason_code: one of wrong_queue, needs_skill"),
            (routing_pb2.TransferWorkRequest(work_id="W-1", target_queue_id="general",
                                             reason_code=routing_pb2.TRANSFER_REASON_OTHER), "'other' needs a reason"),
            (routing_pb2.TransferWorkRequest(work_id="W-1", target_queue_id="general", reason="x",
                                             reason_code=99), "99 is not a transfer reason")):  # type: ignore[arg-type]
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await routing.stub.TransferWork(request, metadata=routing.admin)
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert complaint in (refused.value.details() or "")


async def test_agents_act_only_as_themselves_and_customers_see_only_their_session(routing: RoutingClient) -> None:
    await routing.queue("general")
    await routing.agent("A-1", available=False)
    other = routing.token_for(Role.AGENT, "A-2", groups=("general",))
    with pytest.raises(grpc.aio.AioRpcError) as denied:
        await routing.stub.SetAgentState(routing_pb2.SetAgentStateRequest(
            agent_id="A-1", status=routing_pb2.AGENT_STATUS_AVAILABLE), metadata=other)
    assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED
    with pytest.raises(grpc.aio.AioRpcError) as create:
        await routing.stub.CreateQueue(routing_pb2.CreateQueueRequest(queue=routing_pb2.Queue(id="x")),
                                       metadata=other)
    assert create.value.code() == grpc.StatusCode.PERMISSION_DENIED
    await routing.enqueue("S-1")
    stranger = routing.token_for(Role.CUSTOMER, "C-9", session_id="S-2")
    with pytest.raises(grpc.aio.AioRpcError) as peek:
        await routing.stub.GetWorkItem(routing_pb2.GetWorkItemRequest(id="S-1"), metadata=stranger)
    assert peek.value.code() == grpc.StatusCode.PERMISSION_DENIED
    owner = routing.token_for(Role.CUSTOMER, "C-1", session_id="S-1")
    positions = routing.stub.WatchPosition(routing_pb2.WatchPositionRequest(work_id="S-1"), metadata=owner)
    first = await anext(aiter(positions))
    assert first.position == 1 and first.state == routing_pb2.WORK_STATE_WAITING
    positions.cancel()


async def test_demo_seed_is_idempotent(routing: RoutingClient, authority: Any) -> None:
    from omni.devstack.demo import routing as demo

    token = authority.mint("devstack", Role.SERVICE)
    await demo.seed(routing.host.address, token)
    await demo.seed(routing.host.address, token)
    queues = await routing.stub.ListQueues(routing_pb2.ListQueuesRequest(), metadata=routing.admin)
    assert {"general", "billing", "complaints", "tech_internet"} <= {q.id for q in queues.queues}
    agents = await routing.stub.ListAgents(routing_pb2.ListAgentsRequest(), metadata=routing.admin)
    by_id = {a.id: a for a in agents.agents}
    assert set(by_id["A-1001"].groups) >= {"general", "billing", "complaints"}
    assert by_id["S-2001"].supervisor and list(by_id["A-1002"].languages) == ["en"]
    assert list(by_id["A-1003"].languages) == ["zh"]


async def test_bot_first_queue_overflows_at_zero_and_the_bots_answer_is_the_disposition(
        routing: RoutingClient) -> None:
    await routing.queue("faq", overflow_threshold=0, simple_intents=["opening_hours"])
    await routing.queue("billing", simple_intents=["refund"])  # unset threshold: the default 50
    faq, billing = [await routing.stub.GetQueue(routing_pb2.GetQueueRequest(id=q), metadata=routing.admin)
                    for q in ("faq", "billing")]
    assert faq.overflow_threshold == 0 and billing.overflow_threshold == 50
    first = await routing.enqueue("W-1", "faq", channel=CHAT, intent="opening_hours")
    assert first.state == routing_pb2.WORK_STATE_OVERFLOWED_TO_BOT
    second = await routing.enqueue("W-2", "billing", channel=CHAT, intent="refund")
    assert second.state == routing_pb2.WORK_STATE_WAITING
    bots = routing.token_for(Role.BOT, "bot-1")
    taken = await routing.stub.TakeBotWork(routing_pb2.TakeBotWorkRequest(worker_id="bot-1", queue_ids=["faq"]),
                                           metadata=bots)
    assert taken.work.id == "W-1"
    await routing.stub.CompleteBotWork(routing_pb2.CompleteBotWorkRequest(work_id="W-1", resolved=True),
                                       metadata=bots)
    done = await routing.work("W-1")
    assert done.state == routing_pb2.WORK_STATE_COMPLETED and done.disposition == "resolved_by_bot"


async def test_a_bot_worker_renews_its_claim_and_no_other_caller_can(routing: RoutingClient) -> None:
    await routing.queue("faq", overflow_threshold=0, simple_intents=["opening_hours"])
    await routing.enqueue("W-1", "faq", channel=CHAT, intent="opening_hours")
    bots = routing.token_for(Role.BOT, "bot-1")
    taken = (await routing.stub.TakeBotWork(routing_pb2.TakeBotWorkRequest(worker_id="bot-1/0", queue_ids=["faq"]),
                                            metadata=bots)).work
    first = taken.bot_claim_expire_time.ToDatetime()
    assert (first - taken.enqueue_time.ToDatetime()).total_seconds() == pytest.approx(300, abs=5)

    renewed = await routing.stub.RenewBotClaim(routing_pb2.RenewBotClaimRequest(work_id="W-1", worker_id="bot-1/0"),
                                               metadata=bots)
    assert renewed.expire_time.ToDatetime() >= first
    assert (await routing.work("W-1")).bot_claim_expire_time == renewed.expire_time

    refusals = [
        (bots, routing_pb2.RenewBotClaimRequest(work_id="W-1", worker_id="bot-2/0"),
         grpc.StatusCode.FAILED_PRECONDITION, "is with bot-1/0"),
        (bots, routing_pb2.RenewBotClaimRequest(work_id="W-1"), grpc.StatusCode.INVALID_ARGUMENT, "worker_id"),
        (bots, routing_pb2.RenewBotClaimRequest(work_id="W-9", worker_id="bot-1/0"), grpc.StatusCode.NOT_FOUND, ""),
        (routing.token_for(Role.AGENT, "A-1", groups=("faq",)),
         routing_pb2.RenewBotClaimRequest(work_id="W-1", worker_id="bot-1/0"), grpc.StatusCode.PERMISSION_DENIED, ""),
    ]
    for metadata, request, code, fragment in refusals:
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await routing.stub.RenewBotClaim(request, metadata=metadata)
        assert refused.value.code() == code and fragment in (refused.value.details() or "")

    await routing.stub.CompleteBotWork(routing_pb2.CompleteBotWorkRequest(work_id="W-1", resolved=True,
                                                                          worker_id="bot-1/0"), metadata=bots)
    with pytest.raises(grpc.aio.AioRpcError) as finished:
        await routing.stub.RenewBotClaim(routing_pb2.RenewBotClaimRequest(work_id="W-1", worker_id="bot-1/0"),
                                         metadata=bots)
    assert finished.value.code() == grpc.StatusCode.NOT_FOUND


async def test_updates_change_only_the_masked_fields_and_refuse_a_stale_version(routing: RoutingClient) -> None:
    await routing.queue("billing", simple_intents=["refund"], service_level_seconds=30)
    queue = await routing.stub.UpdateQueue(routing_pb2.UpdateQueueRequest(
        queue=routing_pb2.Queue(id="billing", overflow_threshold=0, simple_intents=["invoice"], version=1),
        update_mask=FieldMask(paths=["overflow_threshold", "simple_intents"])), metadata=routing.admin)
    assert (queue.overflow_threshold, list(queue.simple_intents), queue.service_level_seconds, queue.version) == \
        (0, ["invoice"], 30, 2)
    with pytest.raises(grpc.aio.AioRpcError) as stale:
        await routing.stub.UpdateQueue(routing_pb2.UpdateQueueRequest(
            queue=routing_pb2.Queue(id="billing", display_name="Billing", version=1),
            update_mask=FieldMask(paths=["display_name"])), metadata=routing.admin)
    assert stale.value.code() == grpc.StatusCode.ABORTED and "version 2, you sent 1" in (stale.value.details() or "")

    await routing.agent("A-1", groups=("billing",), languages=["zh"],
                        skills=[routing_pb2.Skill(name="refund", proficiency=2)])
    agent = await routing.stub.UpdateAgent(routing_pb2.UpdateAgentRequest(
        agent=routing_pb2.Agent(id="A-1", skills=[routing_pb2.Skill(name="refund", proficiency=5)]),
        update_mask=FieldMask(paths=["skills"])), metadata=routing.admin)
    assert [(s.name, s.proficiency) for s in agent.skills] == [("refund", 5)]
    assert list(agent.languages) == ["zh"] and list(agent.groups) == ["billing"]
    assert agent.status == routing_pb2.AGENT_STATUS_AVAILABLE  # an edit does not log the agent out
    with pytest.raises(grpc.aio.AioRpcError) as unknown:
        await routing.stub.UpdateAgent(routing_pb2.UpdateAgentRequest(
            agent=routing_pb2.Agent(id="A-1"), update_mask=FieldMask(paths=["status"])), metadata=routing.admin)
    assert unknown.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "updatable" in (unknown.value.details() or "")


async def test_rings_and_wait_targets_are_queue_configuration_that_survives_a_read(routing: RoutingClient) -> None:
    policy = routing_pb2.RoutingPolicy(
        required_skills=["refund"], wait_target=seconds(30), vip_wait_target=seconds(10), min_proficiency=2,
        rings=[routing_pb2.Ring(min_proficiency=4), routing_pb2.Ring(after=seconds(20), min_proficiency=2)],
        overflow_queue="general", overflow_after=seconds(120))
    created = await routing.stub.CreateQueue(routing_pb2.CreateQueueRequest(queue=routing_pb2.Queue(
        id="refunds", intents=["complaint"], policy=policy)), metadata=routing.admin)
    read = await routing.stub.GetQueue(routing_pb2.GetQueueRequest(id="refunds"), metadata=routing.admin)
    for queue in (created, read):
        p = queue.policy
        assert [(r.after.seconds, r.min_proficiency) for r in p.rings] == [(0, 4), (20, 2)]
        assert (p.wait_target.seconds, p.vip_wait_target.seconds, p.vip_lead.seconds) == (30, 10, 300)
        assert (p.min_proficiency, p.overflow_queue, p.overflow_after.seconds) == (2, "general", 120)
        # Not set: on, because the queue takes complaints.
        assert not p.HasField("escalate_to_supervisor")
    with pytest.raises(grpc.aio.AioRpcError) as widening:
        await routing.stub.CreateQueue(routing_pb2.CreateQueueRequest(queue=routing_pb2.Queue(
            id="bad", policy=routing_pb2.RoutingPolicy(rings=[
                routing_pb2.Ring(min_proficiency=2), routing_pb2.Ring(after=seconds(5), min_proficiency=4)]))),
            metadata=routing.admin)
    assert widening.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_a_queues_vip_queue_takes_its_vip_work_to_the_dedicated_agents(routing: RoutingClient) -> None:
    await routing.queue("vip-line", groups=["general", "vip-desk"])
    created = await routing.queue("general", policy=routing_pb2.RoutingPolicy(vip_queue="vip-line"))
    assert created.policy.vip_queue == "vip-line"
    await routing.agent("desk-1", groups=("vip-desk",))
    normal = await routing.enqueue("W-normal")
    assert (normal.queue_id, normal.offered_agent_id) == ("general", "")
    vip = await routing.enqueue("W-vip", vip=True)
    assert (vip.queue_id, vip.offered_agent_id) == ("vip-line", "desk-1")
    assert "vip_queue" in [r.code for r in vip.reasons]
    with pytest.raises(grpc.aio.AioRpcError) as itself:
        await routing.queue("loop", policy=routing_pb2.RoutingPolicy(vip_queue="loop"))
    assert itself.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "itself" in (itself.value.details() or "")
