"""Wiring of the tickets service: servicers, access rules, indexes, consumers."""

from __future__ import annotations

from collections.abc import Sequence

import grpc

from omni.runtime.server import Runtime, ServiceSpec
from omnichannel.tickets.v1 import tickets_pb2, tickets_pb2_grpc


async def register(server: grpc.aio.Server, runtime: Runtime) -> Sequence[str]:
    tickets_pb2_grpc.add_TicketServiceServicer_to_server(tickets_pb2_grpc.TicketServiceServicer(), server)
    return [tickets_pb2.DESCRIPTOR.services_by_name["TicketService"].full_name]


SPEC = ServiceSpec(name="tickets", register=register, access_rules={})
