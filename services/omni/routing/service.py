"""Wiring of the routing service: engine, use cases, servicer, consumers, timer, metrics."""

from __future__ import annotations

import time
from collections.abc import Sequence

import grpc

from omni.routing import metrics
from omni.routing.consumers import SESSION_EVENTS, RoutingConsumers
from omni.routing.context import ContextSources
from omni.routing.domain.engine import RoutingEngine
from omni.routing.publishing import Publisher
from omni.routing.repository import INDEXES, RoutingRepository
from omni.routing.servicer import RoutingServicer
from omni.routing.settings import RoutingSettings
from omni.routing.usecases import RoutingUseCases
from omni.runtime.auth import BOTS, EVERYONE, MANAGERS, STAFF, Role
from omni.runtime.server import Runtime, ServiceSpec
from omnichannel.routing.v1 import routing_pb2, routing_pb2_grpc

_SERVICE = "/omnichannel.routing.v1.RoutingService/"
ACCESS = {
    _SERVICE + name: roles
    for roles, names in (
        (MANAGERS, ("CreateAgent", "UpdateAgent", "CreateQueue", "UpdateQueue", "EnqueueWork")),
        (STAFF, ("GetAgent", "ListAgents", "SetAgentState", "GetQueue", "ListQueues", "GetWorkItem",
                 "ListWorkItems", "TransferWork", "AgentSession", "GetQueueStats", "ListQueueStats")),
        # Customers may watch, abandon or ask a callback for the work of their own session; an
        # agent may watch work of their groups but not drop a waiting customer or move their callback.
        (EVERYONE, ("WatchPosition",)),
        (MANAGERS | {Role.CUSTOMER}, ("AbandonWork", "ScheduleCallback")),
        # Bot work is the bot workers' alone (the `bot` role; nothing else at routing is theirs).
        (BOTS, ("TakeBotWork", "RenewBotClaim", "CompleteBotWork")),
    )
    for name in names
}


async def register(server: grpc.aio.Server, runtime: Runtime) -> Sequence[str]:
    settings = RoutingSettings.extending(runtime.settings)
    # Routing's own short-lived tokens, one per service it asks, renewed before they expire.
    contexts = ContextSources(settings.tickets_addr, settings.knowledge_addr, runtime.service_token,
                              settings.context_timeout, tls_ca_file=settings.grpc_tls_ca_file)
    engine = RoutingEngine(time.time, bot_claim_seconds=settings.bot_claim_seconds)
    routing = RoutingUseCases(engine, RoutingRepository(runtime.db), Publisher(runtime.bus), contexts,
                              desktop_grace=settings.desktop_grace, default_queue=settings.default_queue,
                              timer_resolution=settings.timer_resolution)
    await routing.load()
    routing_pb2_grpc.add_RoutingServiceServicer_to_server(RoutingServicer(routing, runtime.page_tokens), server)
    runtime.consumer("sessions", RoutingConsumers(routing.work).on_session_event, event_types=SESSION_EVENTS)
    runtime.background(routing.run_timer(), name="routing timer")
    metrics.observe(engine)
    return [routing_pb2.DESCRIPTOR.services_by_name["RoutingService"].full_name]


SPEC = ServiceSpec(name="routing", register=register, access_rules=ACCESS, indexes=INDEXES)
