"""The services a bot worker talks to, all real and in-process: knowledge (seeded with the demo
articles), routing and sessions (with its WebSocket chat), plus customers chatting on it and
agents signing in on the desktop."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import grpc
import pytest
import websockets

from omni.devstack.demo import knowledge as demo
from omni.devstack.local_issuer import LocalIssuer
from omni.devstack.processes import free_port
from omni.knowledge.service import SPEC as KNOWLEDGE
from omni.routing.service import SPEC as ROUTING
from omni.runtime.auth import Role
from omni.runtime.clients import channel
from omni.runtime.config import ServiceSettings
from omni.runtime.server import ServiceHost
from omni.sessions.service import SPEC as SESSIONS
from omni.worker.bot import BotWorker, open_channels
from omni.worker.settings import WorkerSettings
from omnichannel.routing.v1 import routing_pb2, routing_pb2_grpc
from omnichannel.sessions.v1 import sessions_pb2, sessions_pb2_grpc
from tests.conftest import StartService
from tests.support.polling import eventually
from tests.support.settings import routing_settings, session_settings, settings_for

# The worker's name: its client id at the token endpoint (so its tokens' subject, the sender of what
# it writes to customers) and its worker id at routing.
BOT = "bot-worker"


async def next_frame(ws: Any, key: str, received: list[Any] | None = None) -> Any:
    """The next frame carrying `key`, skipping others; every frame read is added to `received`."""
    while True:
        frame = json.loads(await asyncio.wait_for(ws.recv(), 10))
        if received is not None:
            received.append(frame)
        if key in frame:
            return frame[key]


@dataclasses.dataclass
class Customer:
    """A customer in the web chat widget (the WebSocket endpoint)."""

    ws: Any
    session_id: str
    said: int = 0
    # Every frame the customer's chat has shown since they started it.
    received: list[Any] = dataclasses.field(default_factory=list)

    async def next(self, key: str) -> Any:
        return await next_frame(self.ws, key, self.received)

    async def say(self, text: str) -> None:
        self.said += 1
        await self.ws.send(json.dumps({"text": {"text": text, "client_message_id": f"m{self.said}"}}))

    async def leave(self) -> None:
        await self.ws.send(json.dumps({"end": {}}))

    async def reply_from(self, sender: str) -> str:
        while (message := await self.next("message"))["sender"] != sender:
            pass
        assert message["direction"] == "DIRECTION_OUTBOUND"
        return str(message["text"])


@dataclasses.dataclass
class Agent:
    """A person on the agent desktop, reading what routing offers and the session history."""

    desktop: grpc.aio.StreamStreamCall[routing_pb2.AgentCommand, routing_pb2.AgentEvent]
    sessions: sessions_pb2_grpc.SessionServiceAsyncStub

    async def offer_of(self, customer: Customer) -> routing_pb2.Offer:
        while True:
            event = await asyncio.wait_for(self.desktop.read(), 10)
            assert isinstance(event, routing_pb2.AgentEvent), "the desktop stream ended"
            if event.WhichOneof("event") == "offer" and event.offer.work.session_id == customer.session_id:
                return event.offer

    async def history(self, customer: Customer) -> list[tuple[str, str]]:
        """(sender, text) of every message of the customer's session, as the agent's screen lists them."""
        session = await self.sessions.GetSession(sessions_pb2.GetSessionRequest(id=customer.session_id))
        return [(m.sender, m.text) for m in session.messages]

    async def notes(self, customer: Customer) -> list[tuple[int, str, str]]:
        """(kind, author, text) of the session's internal notes, as the agent's screen lists them."""
        session = await self.sessions.GetSession(sessions_pb2.GetSessionRequest(id=customer.session_id))
        return [(n.kind, n.author_id, n.text) for n in session.notes]


@dataclasses.dataclass
class Desk:
    authority: LocalIssuer
    knowledge: ServiceHost
    sessions_host: ServiceHost
    routing_host: ServiceHost
    worker: BotWorker
    routing: routing_pb2_grpc.RoutingServiceAsyncStub
    sessions: sessions_pb2_grpc.SessionServiceAsyncStub
    ws_url: str
    connections: contextlib.AsyncExitStack = dataclasses.field(default_factory=contextlib.AsyncExitStack)

    async def chat(self, text: str, handle: str) -> Customer:
        """A customer opens the chat and writes `text`; they stay connected until the test ends."""
        ws = await self.connections.enter_async_context(websockets.connect(self.ws_url))
        await ws.send(json.dumps({"start": {"handle": handle, "display_name": handle}}))
        customer = Customer(ws, (await next_frame(ws, "started"))["session_id"])
        await customer.say(text)
        await customer.next("message")
        return customer

    async def agent(self, agent_id: str) -> Agent:
        """A billing agent signed in on the desktop (AgentSession) and available."""
        await self.routing.CreateAgent(routing_pb2.CreateAgentRequest(agent=routing_pb2.Agent(id=agent_id,
                                                                                              groups=["billing"])))
        token = self.authority.mint(agent_id, Role.AGENT, groups=("billing",), ttl_seconds=600)
        routing, sessions = (channel(host.address, token) for host in (self.routing_host, self.sessions_host))
        for chan in (routing, sessions):
            self.connections.push_async_callback(chan.close)

        async def commands() -> AsyncIterator[routing_pb2.AgentCommand]:
            yield routing_pb2.AgentCommand(login=routing_pb2.AgentLogin(agent_id=agent_id))
            yield routing_pb2.AgentCommand(set_state=routing_pb2.SetAgentStateRequest(
                agent_id=agent_id, status=routing_pb2.AGENT_STATUS_AVAILABLE))
            await asyncio.Event().wait()  # the desktop stays signed in until the test ends

        desktop = routing_pb2_grpc.RoutingServiceStub(routing).AgentSession(commands())
        self.connections.callback(desktop.cancel)
        return Agent(desktop, sessions_pb2_grpc.SessionServiceStub(sessions))

    async def work(self, customer: Customer, where: Callable[[routing_pb2.WorkItem], bool]) -> routing_pb2.WorkItem:
        """The customer's work item once it matches `where` (routing consumes the chat as an event)."""
        work: routing_pb2.WorkItem = await eventually(
            lambda: self.routing.GetWorkItem(routing_pb2.GetWorkItemRequest(id=customer.session_id)), where,
            what=f"work of {customer.session_id} matching the condition", ignoring=(grpc.aio.AioRpcError,))
        return work

    async def session(self, customer: Customer, state: sessions_pb2.SessionState.ValueType) -> sessions_pb2.Session:
        found: sessions_pb2.Session = await eventually(
            lambda: self.sessions.GetSession(sessions_pb2.GetSessionRequest(id=customer.session_id)),
            lambda s: s.state == state, what=f"session {customer.session_id} {sessions_pb2.SessionState.Name(state)}")
        return found


@pytest.fixture
def followup_seconds() -> float:
    """How long the bot waits for a chat reply: plenty for a test customer who answers at once."""
    return 5.0


@pytest.fixture
def bot_claim_seconds() -> float:
    """How long routing's claim on bot work lasts unless the worker renews it."""
    return 300.0


@pytest.fixture
def drain_seconds() -> float:
    """How long a stopped worker lets its conversations go on: none, unless a test says so."""
    return 0.0


@pytest.fixture
async def desk(start_service: StartService, settings: ServiceSettings, authority: LocalIssuer,
               client_settings: Callable[[str], dict[str, str]], followup_seconds: float,
               bot_claim_seconds: float, drain_seconds: float) -> AsyncIterator[Desk]:
    """Knowledge, routing and sessions running, and a bot worker serving routing's "billing" queue
    with the `bot` role's tokens from the token endpoint, as in a cluster."""
    knowledge = await start_service(KNOWLEDGE, settings_override=settings_for(settings, ServiceSettings, database="kb"))
    admin_token = authority.mint("desk-admin", Role.ADMIN, ttl_seconds=600)
    await demo.seed(knowledge.address, admin_token)
    routing = await start_service(ROUTING, settings_override=routing_settings(
        settings, database="routing", knowledge_addr=knowledge.address,
        bot_claim_seconds=bot_claim_seconds, **client_settings("routing")))
    ws_listen = f"127.0.0.1:{free_port()}"
    # Stopped, sessions drops its watchers at once rather than after the suite's 5 s grace, well
    # inside the bot's follow-up window.
    sessions = await start_service(SESSIONS, settings_override=session_settings(
        settings, authority, database="sessions", websocket_listen=ws_listen), shutdown_grace=0.2)

    worker_settings = settings_for(settings, WorkerSettings, database="worker", routing_addr=routing.address,
                                   knowledge_addr=knowledge.address, sessions_addr=sessions.address,
                                   worker_queues=("billing",), worker_concurrency=2, worker_id=BOT,
                                   worker_wait_seconds=0.5, worker_followup_seconds=followup_seconds,
                                   worker_drain_seconds=drain_seconds,
                                   **client_settings(BOT))
    channels = open_channels(worker_settings)
    worker = BotWorker(worker_settings, *channels)
    # The test's own calls (queues, work items, sessions) as an admin: the bot's tokens allow none.
    admin = [channel(address, admin_token) for address in (routing.address, sessions.address)]
    desk = Desk(authority, knowledge, sessions, routing, worker, routing_pb2_grpc.RoutingServiceStub(admin[0]),
                sessions_pb2_grpc.SessionServiceStub(admin[1]), f"ws://{ws_listen}/chat")
    # Overflow to the bots as soon as one customer waits, for simple refund questions only.
    await desk.routing.CreateQueue(routing_pb2.CreateQueueRequest(queue=routing_pb2.Queue(
        id="billing", groups=["billing"], overflow_threshold=1, simple_intents=["refund"])))
    running = asyncio.create_task(worker.run())
    async with desk.connections:
        yield desk
    worker.stop()
    await asyncio.wait_for(running, 10)
    for chan in (*channels, *admin):
        await chan.close()
