"""Wiring of the sessions service: servicers, access rules, indexes, consumers."""

from __future__ import annotations

from collections.abc import Sequence

import grpc

from omni.runtime.server import Runtime, ServiceSpec
from omnichannel.sessions.v1 import sessions_pb2, sessions_pb2_grpc


async def register(server: grpc.aio.Server, runtime: Runtime) -> Sequence[str]:
    sessions_pb2_grpc.add_SessionServiceServicer_to_server(sessions_pb2_grpc.SessionServiceServicer(), server)
    return [sessions_pb2.DESCRIPTOR.services_by_name["SessionService"].full_name]


SPEC = ServiceSpec(name="sessions", register=register, access_rules={})
