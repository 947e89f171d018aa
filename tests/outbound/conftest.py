"""The real stack for callbacks: tickets, sessions (its telephony API is the PBX adapter's) and
routing in-process on real NATS and MongoDB-protocol servers; agents hold real desk streams."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Callable
from typing import Any

import grpc
import pytest
from google.protobuf.duration_pb2 import Duration

from omni.devstack.local_issuer import LocalIssuer
from omni.devstack.processes import ManagedProcess, free_port
from omni.routing.service import SPEC as ROUTING
from omni.runtime.auth import Role, bearer
from omni.runtime.config import ServiceSettings
from omni.sessions.service import SPEC as SESSIONS
from omni.sessions.settings import SessionSettings
from omni.tickets.service import SPEC as TICKETS
from omnichannel.common.v1 import common_pb2
from omnichannel.routing.v1 import routing_pb2, routing_pb2_grpc
from omnichannel.sessions.v1 import sessions_pb2, sessions_pb2_grpc
from omnichannel.tickets.v1 import tickets_pb2, tickets_pb2_grpc
from tests.conftest import StartService
from tests.support.events import EventRecorder
from tests.support.polling import eventually
from tests.support.settings import routing_settings, settings_for
from tests.support.smsc import Smsc

AGENTS = ("A-1", "A-2")
# The built-in IVR: "1" at the menu is billing; "1" while waiting books a callback.
BILLING = "1"


@dataclasses.dataclass
class CallbackStack:
    authority: LocalIssuer
    telephony: sessions_pb2_grpc.TelephonyServiceStub
    sessions: sessions_pb2_grpc.SessionServiceStub
    routing: routing_pb2_grpc.RoutingServiceStub
    tickets: tickets_pb2_grpc.TicketServiceStub
    # What sessions publishes: the PBX adapter reads its outbound_call_requested commands here.
    published: EventRecorder
    # Sessions' inbound SMTP: customers email in here.
    smtp_port: int
    # Sessions' SMS channel is bound to it: the callback reminders reach it.
    smsc: Smsc

    def token(self, role: Role, subject: str = "tester", groups: tuple[str, ...] = ("billing",),
              session_id: str = "") -> Any:
        return bearer(self.authority.mint(subject, role, groups=groups, session_id=session_id))

    @property
    def pbx(self) -> Any:
        return self.token(Role.SERVICE, "pbx")

    async def queued_call(self, call_id: str, ani: str) -> sessions_pb2.Session:
        """A caller who chose billing in the IVR and is waiting, their call threaded onto a ticket."""
        await self.telephony.StartCall(sessions_pb2.StartCallRequest(call_id=call_id, ani=ani, dnis="10086"),
                                       metadata=self.pbx)
        step = await self.telephony.SubmitIvrInput(sessions_pb2.SubmitIvrInputRequest(call_id=call_id, digits=BILLING),
                                                   metadata=self.pbx)
        assert step.session.state == sessions_pb2.SESSION_STATE_QUEUED
        return await self.session(step.session.id, lambda s: bool(s.ticket_id), "threaded onto a ticket")

    async def session(self, session_id: str, until: Callable[[sessions_pb2.Session], bool],
                      what: str) -> sessions_pb2.Session:
        staff = self.token(Role.SUPERVISOR, "S-1")

        async def read() -> sessions_pb2.Session:
            return await self.sessions.GetSession(sessions_pb2.GetSessionRequest(id=session_id), metadata=staff)

        return await eventually(read, until, what=f"session {session_id} {what}")

    async def work(self, work_id: str, until: Callable[[routing_pb2.WorkItem], bool],
                   what: str) -> routing_pb2.WorkItem:
        return await work_item(self.routing, self.token(Role.SUPERVISOR, "S-1"), work_id, until, what)

    async def ticket_interactions(self, ticket_id: str, count: int) -> list[common_pb2.Interaction]:
        staff = self.token(Role.SUPERVISOR, "S-1")

        async def read() -> list[common_pb2.Interaction]:
            ticket = await self.tickets.GetTicket(tickets_pb2.GetTicketRequest(id=ticket_id), metadata=staff)
            return list(ticket.interactions)

        return await eventually(read, lambda found: len(found) >= count,
                                what=f"{count} interactions on ticket {ticket_id}")

    def desk(self, agent_id: str) -> Desk:
        return Desk(self.routing, agent_id, self.token(Role.AGENT, agent_id))


async def work_item(routing: routing_pb2_grpc.RoutingServiceStub, staff: Any, work_id: str,
                    until: Callable[[routing_pb2.WorkItem], bool], what: str) -> routing_pb2.WorkItem:
    """Routing's work item once `until` holds for it, read as a supervisor (`staff`)."""
    async def read() -> routing_pb2.WorkItem:
        return await routing.GetWorkItem(routing_pb2.GetWorkItemRequest(id=work_id), metadata=staff)

    return await eventually(read, until, what=f"work {work_id} {what}")


class Desk:
    """An agent's desktop stream (AgentSession), logged in and available."""

    def __init__(self, routing: routing_pb2_grpc.RoutingServiceStub, agent_id: str, token: Any) -> None:
        self.agent_id = agent_id
        self.commands: asyncio.Queue[routing_pb2.AgentCommand | None] = asyncio.Queue()
        self.send(login=routing_pb2.AgentLogin(agent_id=agent_id))
        self.send(set_state=routing_pb2.SetAgentStateRequest(agent_id=agent_id,
                                                             status=routing_pb2.AGENT_STATUS_AVAILABLE))
        self.call = routing.AgentSession(self._outgoing(), metadata=token)

    async def _outgoing(self) -> AsyncIterator[routing_pb2.AgentCommand]:
        while (command := await self.commands.get()) is not None:
            yield command

    def send(self, **command: Any) -> None:
        self.commands.put_nowait(routing_pb2.AgentCommand(**command))

    async def next(self, kind: str, within: float = 20) -> Any:
        while True:
            event = await asyncio.wait_for(self.call.read(), within)
            assert event is not grpc.aio.EOF, "the desk stream ended"
            if event.WhichOneof("event") == kind:
                return getattr(event, kind)

    def close(self) -> None:
        self.commands.put_nowait(None)


@pytest.fixture
async def stack(start_service: StartService, settings: ServiceSettings, authority: LocalIssuer,
                nats: ManagedProcess, client_settings: Callable[[str], dict[str, str]]) -> AsyncIterator[CallbackStack]:
    tickets = await start_service(TICKETS, settings_override=settings_for(settings, ServiceSettings,
                                                                          database="tickets"))
    smtp_port = free_port()
    smsc = Smsc()
    await smsc.start()  # a port the system picks: a port found free earlier may be taken by then
    sessions = await start_service(SESSIONS, settings_override=settings_for(
        settings, SessionSettings, database="sessions", smtp_listen=f"127.0.0.1:{smtp_port}",
        sms_smsc=f"127.0.0.1:{smsc.port}", sms_system_id=smsc.system_id, sms_password=smsc.password,
        sms_source="+8610086", sms_reconnect_seconds=0.2, tickets_addr=tickets.address, caller_lookup_timeout=2.0,
        **client_settings("sessions")))
    # Redials one and two seconds after an unanswered call, so the test sees all three.
    routing = await start_service(ROUTING, settings_override=routing_settings(
        settings, database="routing", tickets_addr=tickets.address, context_timeout=2.0,
        callback_retry_seconds=("1", "2"), callback_max_attempts=3, **client_settings("routing")))
    admin = bearer(authority.mint("seed", Role.ADMIN))
    channels = [grpc.aio.insecure_channel(host.address) for host in (tickets, sessions, routing)]
    routing_stub = routing_pb2_grpc.RoutingServiceStub(channels[2])
    await routing_stub.CreateQueue(routing_pb2.CreateQueueRequest(queue=routing_pb2.Queue(
        id="billing", display_name="Billing", groups=["billing"], overflow_threshold=1000,
        policy=routing_pb2.RoutingPolicy(offer_timeout=Duration(seconds=60)))), metadata=admin)
    for agent_id in AGENTS:
        await routing_stub.CreateAgent(routing_pb2.CreateAgentRequest(agent=routing_pb2.Agent(
            id=agent_id, display_name=agent_id, groups=["billing"], languages=["en", "zh"],
            skills=[routing_pb2.Skill(name="billing", proficiency=3)],
            capacities=[routing_pb2.ChannelCapacity(channel=common_pb2.CHANNEL_PHONE, max_concurrent=1)])),
            metadata=admin)
    async with await EventRecorder.start(nats.url, "sessions") as published:
        yield CallbackStack(authority, sessions_pb2_grpc.TelephonyServiceStub(channels[1]),
                            sessions_pb2_grpc.SessionServiceStub(channels[1]), routing_stub,
                            tickets_pb2_grpc.TicketServiceStub(channels[0]), published, smtp_port, smsc)
    for channel in channels:
        await channel.close()
    await smsc.stop()
