"""A real routing service (in-process, real NATS and MongoDB-protocol server) and a client; a
hand-driven clock for the engine alone."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Callable
from typing import Any

import grpc
import pytest
from google.protobuf.duration_pb2 import Duration

from omni.routing.service import SPEC
from omni.runtime.auth import Role
from omni.runtime.config import ServiceSettings
from omni.runtime.server import ServiceHost
from omnichannel.common.v1 import common_pb2
from omnichannel.routing.v1 import routing_pb2, routing_pb2_grpc
from tests.conftest import StartService
from tests.support.settings import routing_settings

PHONE, CHAT, EMAIL = common_pb2.CHANNEL_PHONE, common_pb2.CHANNEL_CHAT, common_pb2.CHANNEL_EMAIL


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


@dataclasses.dataclass
class RoutingClient:
    host: ServiceHost
    stub: routing_pb2_grpc.RoutingServiceStub
    admin: tuple[tuple[str, str], ...]
    token_for: Callable[..., Any]

    async def queue(self, queue_id: str = "general", **fields: Any) -> routing_pb2.Queue:
        fields.setdefault("groups", [queue_id])
        return await self.stub.CreateQueue(routing_pb2.CreateQueueRequest(
            queue=routing_pb2.Queue(id=queue_id, **fields)), metadata=self.admin)

    async def agent(self, agent_id: str, groups: tuple[str, ...] = ("general",), available: bool = True,
                    **fields: Any) -> routing_pb2.Agent:
        agent = await self.stub.CreateAgent(routing_pb2.CreateAgentRequest(
            agent=routing_pb2.Agent(id=agent_id, groups=groups, **fields)), metadata=self.admin)
        if available:
            agent = await self.stub.SetAgentState(routing_pb2.SetAgentStateRequest(
                agent_id=agent_id, status=routing_pb2.AGENT_STATUS_AVAILABLE), metadata=self.admin)
        return agent

    async def enqueue(self, work_id: str, queue_id: str = "general", channel: int = PHONE,
                      **fields: Any) -> routing_pb2.WorkItem:
        return await self.stub.EnqueueWork(routing_pb2.EnqueueWorkRequest(work=routing_pb2.WorkItem(
            id=work_id, queue_id=queue_id, channel=channel, session_id=work_id, **fields)), metadata=self.admin)

    async def work(self, work_id: str) -> routing_pb2.WorkItem:
        return await self.stub.GetWorkItem(routing_pb2.GetWorkItemRequest(id=work_id), metadata=self.admin)


@pytest.fixture
async def routing(start_service: StartService, settings: ServiceSettings,
                  token_for: Callable[..., Any]) -> AsyncIterator[RoutingClient]:
    host = await start_service(SPEC, settings_override=routing_settings(settings))
    async with grpc.aio.insecure_channel(host.address) as channel:
        yield RoutingClient(host, routing_pb2_grpc.RoutingServiceStub(channel), token_for(Role.ADMIN, "admin"),
                            token_for)


def seconds(value: float) -> Duration:
    return Duration(seconds=int(value), nanos=int((value % 1) * 1e9))
