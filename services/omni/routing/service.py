"""Wiring of the routing service: engine, leases, use cases, servicer, inboxes, timer, metrics."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import socket
import time
import uuid
from collections.abc import Sequence

import grpc

from omni.routing import metrics
from omni.routing.consumers import SESSION_EVENTS, RoutingConsumers
from omni.routing.context import ContextSources
from omni.routing.domain.engine import RoutingEngine
from omni.routing.leases import Holder, LeaseBoard
from omni.routing.publishing import Publisher
from omni.routing.repository import INDEXES, RoutingRepository
from omni.routing.servicer import RoutingServicer
from omni.routing.settings import RoutingSettings
from omni.routing.usecases import RoutingUseCases
from omni.routing.usecases.ownership import Inbox
from omni.runtime.auth import BOTS, EVERYONE, MANAGERS, STAFF, Role
from omni.runtime.consumer import Consumer
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
        # agent may watch work of their groups but not drop a waiting customer or move their
        # callback: they book one only for the customer they hold (domain/access.py).
        (EVERYONE, ("WatchPosition",)),
        (MANAGERS | {Role.CUSTOMER}, ("AbandonWork",)),
        (MANAGERS | {Role.CUSTOMER, Role.AGENT}, ("ScheduleCallback", "ListCallbackSlots")),
        # Follow-ups: an agent of their own contacts, a supervisor of any (domain/access.py).
        (STAFF, ("ScheduleFollowUp", "CancelFollowUp", "ListFollowUps")),
        # Bot work is the bot workers' alone (the `bot` role; nothing else at routing is theirs).
        (BOTS, ("TakeBotWork", "RenewBotClaim", "CompleteBotWork")),
    )
    for name in names
}
# A new partition's inbox starts with the session events of this long ago (a contact published
# while its queue was being created); older ones were handled, and handling one again is a no-op.
INBOX_LOOKBACK = dt.timedelta(minutes=5)
# An inbox nobody reads for this long is deleted by the server (its partition is gone).
INBOX_IDLE = 7 * 24 * 3600.0
# Unacknowledged events of a crashed owner come again this soon, to the partition's next owner.
INBOX_ACK_WAIT = 5.0


def advertised_address(settings: RoutingSettings, address: str) -> str:
    """Where other replicas and clients reach this one."""
    host, port = address.rsplit(":", 1)
    if settings.advertise_host:
        host = settings.advertise_host
    elif host in ("0.0.0.0", "[::]", "::", ""):
        host = socket.gethostbyname(socket.gethostname())
    return f"{host}:{port}"


async def register(server: grpc.aio.Server, runtime: Runtime) -> Sequence[str]:
    settings = RoutingSettings.extending(runtime.settings)
    # Routing's own short-lived tokens, one per service it asks, renewed before they expire.
    contexts = ContextSources(settings.tickets_addr, settings.knowledge_addr, runtime.service_token,
                              settings.context_timeout, tls_ca_file=settings.grpc_tls_ca_file)
    board = await LeaseBoard.open(runtime.bus.js, settings.lease_ttl)
    me = Holder(f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}",
                advertised_address(settings, runtime.address))
    routing = RoutingUseCases(lambda: RoutingEngine(time.time, bot_claim_seconds=settings.bot_claim_seconds),
                              RoutingRepository(runtime.db), Publisher(runtime.bus), contexts, board, me,
                              desktop_grace=settings.desktop_grace, default_queue=settings.default_queue,
                              timer_resolution=settings.timer_resolution,
                              attempts=settings.callback_attempts, slot_rules=settings.callback_slots,
                              call_history=settings.call_history, follow_ups=settings.follow_up_limits)

    async def open_inbox(partition: str) -> Inbox:
        consumer = Consumer(
            runtime.bus, name=f"routing-{hashlib.blake2b(partition.encode(), digest_size=6).hexdigest()}",
            domain="sessions", handler=RoutingConsumers(routing.work, routing.outbound, partition).on_session_event,
            event_types=SESSION_EVENTS, max_attempts=settings.event_max_attempts, backoff=settings.backoff,
            retry_cap=settings.event_retry_cap_seconds, batch=8, ack_wait=INBOX_ACK_WAIT, inactive_threshold=INBOX_IDLE,
            start_time=dt.datetime.now(dt.UTC) - INBOX_LOOKBACK, on_health=runtime.consumer_health)
        await consumer.start()
        return consumer

    runtime.background(routing.relay.run(), name="routing outbox relay")
    await routing.start(open_inbox)
    routing_pb2_grpc.add_RoutingServiceServicer_to_server(RoutingServicer(routing, runtime.page_tokens), server)
    runtime.background(routing.ownership.keep(), name="routing lease renewal")
    runtime.background(routing.ownership.run(), name="routing partitions")
    runtime.background(routing.run_timer(), name="routing timer")
    runtime.on_stopping.append(routing.ownership.hand_over)
    runtime.on_stop.append(board.close)
    metrics.observe(routing.engine)
    return [routing_pb2.DESCRIPTOR.services_by_name["RoutingService"].full_name]


SPEC = ServiceSpec(name="routing", register=register, access_rules=ACCESS, indexes=INDEXES)
