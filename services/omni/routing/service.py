"""Wiring of the routing service: servicers, access rules, indexes, consumers."""

from __future__ import annotations

from collections.abc import Sequence

import grpc

from omni.runtime.server import Runtime, ServiceSpec
from omnichannel.routing.v1 import routing_pb2, routing_pb2_grpc


async def register(server: grpc.aio.Server, runtime: Runtime) -> Sequence[str]:
    routing_pb2_grpc.add_RoutingServiceServicer_to_server(routing_pb2_grpc.RoutingServiceServicer(), server)
    return [routing_pb2.DESCRIPTOR.services_by_name["RoutingService"].full_name]


SPEC = ServiceSpec(name="routing", register=register, access_rules={})
