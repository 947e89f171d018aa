"""The floor as routing sees it, narrowed to what each supervisor supervises."""

from __future__ import annotations

import asyncio

import grpc
import pytest

from omni.runtime.auth import Role
from omnichannel.common.v1 import common_pb2
from omnichannel.routing.v1 import events_pb2 as routing_events
from omnichannel.routing.v1 import routing_pb2
from omnichannel.supervision.v1 import supervision_pb2 as pb
from tests.supervision.conftest import Floor


async def next_floor(watch: object, until: object) -> pb.Floor:
    async def wait() -> pb.Floor:
        while True:
            floor = await watch.read()  # type: ignore[attr-defined]
            if until(floor):  # type: ignore[operator]
                return floor

    return await asyncio.wait_for(wait(), 20)


async def test_a_supervisor_watches_their_groups_queues_and_agents_live_and_an_agent_is_refused(
        floor: Floor) -> None:
    await floor.routing.CreateAgent(routing_pb2.CreateAgentRequest(agent=routing_pb2.Agent(
        id="A-1", display_name="Ann", groups=["billing"], languages=["en"],
        capacities=[routing_pb2.ChannelCapacity(channel=common_pb2.CHANNEL_CHAT, max_concurrent=2)])),
        metadata=floor.admin)
    await floor.routing.CreateAgent(routing_pb2.CreateAgentRequest(agent=routing_pb2.Agent(
        id="A-9", display_name="Tom", groups=["tech"], languages=["en"])), metadata=floor.admin)
    boss = floor.token_for(Role.SUPERVISOR, "S-1", groups=("billing",))
    watch = floor.supervision.WatchFloor(pb.WatchFloorRequest(), metadata=boss)
    first = await next_floor(watch, lambda f: f.queues)
    assert [q.queue_id for q in first.queues] == ["billing"]
    assert [a.agent_id for a in first.agents] == ["A-1"]
    assert first.queues[0].service_level_target == pytest.approx(0.8)

    await floor.routing.EnqueueWork(routing_pb2.EnqueueWorkRequest(work=routing_pb2.WorkItem(
        id="W-1", queue_id="billing", channel=common_pb2.CHANNEL_CHAT, language="en")), metadata=floor.admin)
    waiting = await next_floor(watch, lambda f: f.queues and f.queues[0].waiting == 1)
    assert waiting.queues[0].agents_available == 0
    await floor.routing.SetAgentState(routing_pb2.SetAgentStateRequest(
        agent_id="A-1", status=routing_pb2.AGENT_STATUS_AVAILABLE), metadata=floor.admin)
    watch.cancel()

    with pytest.raises(grpc.aio.AioRpcError) as refused:
        agent = floor.supervision.WatchFloor(pb.WatchFloorRequest(),
                                             metadata=floor.token_for(Role.AGENT, "A-1", groups=("billing",)))
        await agent.read()
    assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_with_routing_down_the_floor_keeps_its_last_view_marked_degraded_and_alerts_still_come(
        floor: Floor) -> None:
    watch = floor.supervision.WatchFloor(pb.WatchFloorRequest(), metadata=floor.admin)
    first = await next_floor(watch, lambda f: f.queues)
    await floor.routing_host.stop()
    down = await next_floor(watch, lambda f: f.degraded)
    assert down.degraded == ["routing: unavailable"]
    assert [q.queue_id for q in down.queues] == [q.queue_id for q in first.queues]
    await floor.publish("routing", "offer_timed_out", routing_events.WorkEvent(
        work=routing_pb2.WorkItem(id="S-1", session_id="S-1", queue_id="billing", offer_attempts=1),
        agent_id="A-1"), event_id="rona-down")
    await floor.alert(pb.ALERT_KIND_RONA, session_id="S-1")
    watch.cancel()
