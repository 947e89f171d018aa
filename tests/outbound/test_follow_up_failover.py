"""Follow-ups across two routing replicas, as real processes: scheduled (sent on to the queue's
owner), their owner killed with -9 (and started again) before they fall due; every follow-up is offered
once it is due and done exactly once."""

from __future__ import annotations

import asyncio
import collections
import time
from pathlib import Path

import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from omni.devstack.processes import ManagedProcess
from omnichannel.common.v1 import common_pb2
from omnichannel.routing.v1 import routing_pb2
from tests.outbound.test_callback_failover import kill_owner, unique
from tests.routing.cluster import Cluster, Desk
from tests.support.polling import eventually

pytestmark = [pytest.mark.slow, pytest.mark.soak]
FOLLOW_UPS = 4
DUE_IN = 4.0


async def test_two_replicas_and_a_kill_9_fire_every_follow_up_once_when_due(
        nats: ManagedProcess, mongo: ManagedProcess, tmp_path: Path) -> None:
    cluster = Cluster(nats.url, mongo.url, f"followups_{tmp_path.name[-20:]}", tmp_path, 2)
    desk = None
    try:
        await cluster.start()
        stub = cluster.stub
        await stub.CreateQueue(routing_pb2.CreateQueueRequest(queue=routing_pb2.Queue(id="care", groups=["g0"])),
                               metadata=cluster.admin)
        await stub.CreateAgent(routing_pb2.CreateAgentRequest(agent=routing_pb2.Agent(id="A-0", groups=["g0"])),
                               metadata=cluster.admin)
        desk = Desk(cluster, "A-0", handle=0.1)
        desk.start()
        await cluster.contact("S-f0", "care")
        await eventually(lambda: asyncio.sleep(0, cluster.of("work_completed")), bool, what="the contact handled",
                         within=30)
        due = Timestamp()
        due.FromNanoseconds(int((time.time() + DUE_IN) * 1e9))
        scheduled = []
        for n in range(FOLLOW_UPS):
            # Whichever replica is asked sends the caller on to the queue's owner.
            work = await stub.ScheduleFollowUp(routing_pb2.ScheduleFollowUpRequest(
                work_id="S-f0", channel=common_pb2.CHANNEL_PHONE, due_time=due, request_id=f"f-{n}"),
                metadata=cluster.admin)
            assert work.preferred_agent_id == "A-0"
            scheduled.append(work.id)
        scheduled_at = time.monotonic()
        # Killed before any falls due: the next owner loads them and offers them when due.
        await kill_owner(cluster, restart=True)
        await eventually(lambda: asyncio.sleep(0, {e.work_id for e in unique(cluster.of("work_completed"))}),
                         lambda done: set(scheduled) <= done, what="every follow-up done", within=60)
    finally:
        if desk is not None:
            await desk.stop()
        await cluster.close()

    assigned = collections.Counter(e.work_id for e in unique(cluster.of("work_assigned")) if e.work_id in scheduled)
    assert assigned == dict.fromkeys(scheduled, 1)
    completed = collections.Counter(e.work_id for e in unique(cluster.of("work_completed")) if e.work_id in scheduled)
    assert completed == dict.fromkeys(scheduled, 1)
    first_offer = min(e.at for e in cluster.of("work_offered") if e.work_id in scheduled)
    assert first_offer - scheduled_at >= DUE_IN - 1.5  # never before due
