"""Wiring of the knowledge service: servicers, access rules, indexes, consumers."""

from __future__ import annotations

from collections.abc import Sequence

import grpc

from omni.runtime.server import Runtime, ServiceSpec
from omnichannel.knowledge.v1 import knowledge_pb2, knowledge_pb2_grpc


async def register(server: grpc.aio.Server, runtime: Runtime) -> Sequence[str]:
    knowledge_pb2_grpc.add_KnowledgeServiceServicer_to_server(knowledge_pb2_grpc.KnowledgeServiceServicer(), server)
    return [knowledge_pb2.DESCRIPTOR.services_by_name["KnowledgeService"].full_name]


SPEC = ServiceSpec(name="knowledge", register=register, access_rules={})
