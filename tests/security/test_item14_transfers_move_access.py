"""Issue 13, item 14: a transfer moves access.

Before, routing's transfer put the work in its new queue, but the session stayed in the old one:
the old queue's group went on reading (and answering) a conversation that was no longer theirs,
and the new queue's agents, offered the work, could not open it. Now the session takes the work's
queue in the same write that puts it back in line."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from typing import Any

import grpc
import pytest
import websockets

from omni.routing.service import SPEC as ROUTING
from omni.runtime.auth import Role
from omni.runtime.config import ServiceSettings
from omnichannel.routing.v1 import routing_pb2, routing_pb2_grpc
from omnichannel.sessions.v1 import sessions_pb2 as pb
from tests.sessions.conftest import Stack
from tests.support.polling import eventually
from tests.support.settings import routing_settings


async def _sees(stack: Stack, agent: Any, session_id: str) -> bool:
    try:
        await stack.sessions.GetSession(pb.GetSessionRequest(id=session_id), metadata=agent)
    except grpc.aio.AioRpcError as exc:
        assert exc.code() == grpc.StatusCode.PERMISSION_DENIED, exc.details()
        return False
    return True


async def test_a_transfer_takes_the_session_from_the_old_queues_group_to_the_new_ones(
        start_service: Any, settings: ServiceSettings, stack: Stack) -> None:
    own = dataclasses.replace(settings, mongo_database=f"{settings.mongo_database}_routing")
    routing_host = await start_service(ROUTING, settings_override=routing_settings(own))
    admin = stack.token(Role.ADMIN, "admin")
    async with grpc.aio.insecure_channel(routing_host.address) as channel:
        routing = routing_pb2_grpc.RoutingServiceStub(channel)
        # A session is seen by the agents whose groups name its queue.
        for queue in ("billing", "tech_support"):
            await routing.CreateQueue(routing_pb2.CreateQueueRequest(
                queue=routing_pb2.Queue(id=queue, groups=[queue])), metadata=admin)

        async with websockets.connect(stack.ws_url) as ws:
            await ws.send(json.dumps({"start": {"handle": "web-transfer"}}))
            session_id = json.loads(await asyncio.wait_for(ws.recv(), 10))["started"]["session_id"]
            await ws.send(json.dumps({"text": {"text": "I want a refund, my router was charged twice"}}))
            await asyncio.wait_for(ws.recv(), 10)

        billing_agent = stack.token(Role.AGENT, "A-1", groups=("billing",))
        technician = stack.token(Role.AGENT, "B-1", groups=("tech_support",))
        assert await _sees(stack, billing_agent, session_id)
        assert not await _sees(stack, technician, session_id)
        watch = stack.sessions.WatchSession(pb.WatchSessionRequest(session_id=session_id), metadata=billing_agent)
        assert (await asyncio.wait_for(watch.read(), 10)).kind == "snapshot"

        await eventually(lambda: routing.GetWorkItem(routing_pb2.GetWorkItemRequest(id=session_id), metadata=admin),
                         what="the chat as routing's work", ignoring=(grpc.aio.AioRpcError,))
        moved = await routing.TransferWork(routing_pb2.TransferWorkRequest(
            work_id=session_id, target_queue_id="tech_support", reason="the router needs a technician",
            reason_code=routing_pb2.TRANSFER_REASON_NEEDS_SKILL),
            metadata=stack.token(Role.SUPERVISOR, "S-1"))
        assert moved.queue_id == "tech_support"

        # The billing agent's open view of it ends, and the session is the technicians' now.
        with pytest.raises(grpc.aio.AioRpcError) as ended:
            while True:
                await asyncio.wait_for(watch.read(), 10)
        assert ended.value.code() == grpc.StatusCode.PERMISSION_DENIED
        assert await eventually(lambda: _sees(stack, technician, session_id), what="the technician seeing it")
        assert not await _sees(stack, billing_agent, session_id)
        session = await stack.sessions.GetSession(pb.GetSessionRequest(id=session_id), metadata=technician)
        assert (session.queue, session.state) == ("tech_support", pb.SESSION_STATE_QUEUED)
