"""The real services in-process (tickets, knowledge, sessions with its WebSocket chat and SMTP,
routing, supervision) with a little seed data, an SMTP sink as sessions' relay, and the web gateway in front."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator, Callable
from typing import Any

import grpc
from aiosmtpd.controller import Controller
from google.protobuf.duration_pb2 import Duration

from omni.devstack.local_issuer import LocalIssuer
from omni.devstack.processes import free_port
from omni.knowledge.service import SPEC as KNOWLEDGE
from omni.reports.service import SPEC as REPORTS
from omni.reports.settings import ReportSettings
from omni.routing.service import SPEC as ROUTING
from omni.runtime.auth import Role, bearer
from omni.runtime.config import ServiceSettings
from omni.runtime.server import ServiceHost
from omni.sessions.domain.chat_identity import mint_identity_token
from omni.sessions.service import SPEC as SESSIONS
from omni.sessions.settings import SessionSettings
from omni.supervision.service import SPEC as SUPERVISION
from omni.supervision.settings import SupervisionSettings
from omni.tickets.service import SPEC as TICKETS
from omni.web.service import WebGateway
from omni.web.settings import WebSettings
from omnichannel.common.v1 import common_pb2
from omnichannel.knowledge.v1 import knowledge_pb2, knowledge_pb2_grpc
from omnichannel.routing.v1 import routing_pb2, routing_pb2_grpc
from omnichannel.tickets.v1 import tickets_pb2, tickets_pb2_grpc
from tests.conftest import StartService
from tests.routing.replicas import owners, partition_of, second_replica
from tests.sessions.conftest import Sink
from tests.support.settings import routing_settings, settings_for

IDENTITY_SECRET = "web-test-identity-key-0123456789abcdef"
CAPACITY = {common_pb2.CHANNEL_PHONE: 1, common_pb2.CHANNEL_CHAT: 3, common_pb2.CHANNEL_EMAIL: 3}
# (queue, groups); chats about refunds land in billing.
QUEUES = (("chat", ("general",)), ("general", ("general",)), ("billing", ("billing",)), ("email", ("general",)))
AGENTS = (("A-1001", "Li Wei", ("general", "billing")), ("A-1002", "Emma Brown", ("general", "billing")),
          ("A-3001", "Tech Only", ("tech",)))
# A supervisor of the general and billing queues, also an agent in routing (a take-over comes to them).
SUPERVISOR = ("S-1", "Sam Supervisor", ("general", "billing"))
REFUND_ANSWER = "Refunds reach your card within 5 working days."


@dataclasses.dataclass
class WebStack:
    gateway: WebGateway
    addresses: dict[str, str]
    smtp_port: int
    authority: LocalIssuer
    # What sessions relayed: the agents' email replies.
    outbox: Sink
    # The routing replicas (the first is the one the gateway is pointed at).
    routing: tuple[ServiceHost, ...] = ()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.gateway.port}"

    def token(self, subject: str, groups: tuple[str, ...], role: Role = Role.AGENT) -> str:
        return self.authority.mint(subject, role, groups=groups)

    def supervisor_token(self) -> str:
        return self.token(SUPERVISOR[0], SUPERVISOR[2], Role.SUPERVISOR)

    def agent_token(self, agent_id: str = "A-1001") -> str:
        groups = next(g for a, _, g in AGENTS if a == agent_id)
        return self.token(agent_id, groups)

    @staticmethod
    def identity_token(email: str, name: str = "") -> str:
        return mint_identity_token(IDENTITY_SECRET, email=email, name=name)


async def start_stack(start_service: StartService, settings: ServiceSettings, authority: LocalIssuer,
                      client_settings: Callable[[str], dict[str, str]], *, routing_replicas: int = 1,
                      **web: Any) -> tuple[WebStack, Callable[[], Any]]:
    """`authority` mints the tests' tokens; routing gets its screen-pop tokens as the `routing` client.
    With two `routing_replicas` the agents' partition and the tech one are split between them, and
    the gateway is pointed at the replica that does not serve the agents."""
    tickets = await start_service(TICKETS, settings_override=settings_for(settings, ServiceSettings,
                                                                          database="tickets"))
    knowledge = await start_service(KNOWLEDGE, settings_override=settings_for(settings, ServiceSettings,
                                                                              database="knowledge"))
    chat_port, smtp_port, relay_port = free_port(), free_port(), free_port()
    outbox = Sink()
    relay = Controller(outbox, hostname="127.0.0.1", port=relay_port)
    relay.start()
    sessions = await start_service(SESSIONS, settings_override=settings_for(
        settings, SessionSettings, database="sessions", websocket_listen=f"127.0.0.1:{chat_port}",
        smtp_listen=f"127.0.0.1:{smtp_port}", smtp_relay=f"127.0.0.1:{relay_port}",
        chat_identity_secret=IDENTITY_SECRET, chat_token_key_files=(str(authority.chat_key_file),)))
    own: dict[str, Any] = {"database": "routing", "tickets_addr": tickets.address,
                           "knowledge_addr": knowledge.address, "context_timeout": 2.0, **client_settings("routing")}
    routing = await start_service(ROUTING, settings_override=routing_settings(settings, **own))
    reports = await start_service(REPORTS, settings_override=settings_for(
        settings, ReportSettings, database="reports", sessions_addr=sessions.address, report_catch_up=1,
        **client_settings("reports")))
    supervision = await start_service(SUPERVISION, settings_override=settings_for(
        settings, SupervisionSettings, database="supervision", routing_addr=routing.address,
        floor_refresh_seconds=0.5, **client_settings("supervision")))
    addresses = {"tickets": tickets.address, "knowledge": knowledge.address, "sessions": sessions.address,
                 "routing": routing.address, "reports": reports.address, "supervision": supervision.address}
    await seed(addresses, bearer(authority.mint("seed", Role.ADMIN)))
    replicas: tuple[ServiceHost, ...] = (routing,)
    if routing_replicas == 2:
        second = await second_replica(start_service, settings, routing.address, ("billing", "tech"), **own)
        agents_at = (await owners(settings.nats_url))[partition_of("billing")]
        replicas = (routing, second) if agents_at == second.address else (second, routing)
        addresses["routing"] = replicas[0].address
    gateway = WebGateway(settings_for(
        settings, WebSettings, web_listen="127.0.0.1:0", web_cookie_secure=False,
        web_chat_url=f"ws://127.0.0.1:{chat_port}/chat", tickets_addr=tickets.address,
        sessions_addr=sessions.address, knowledge_addr=knowledge.address, routing_addr=addresses["routing"],
        reports_addr=reports.address, supervision_addr=supervision.address, **web))
    await gateway.start()

    async def stop() -> None:
        await gateway.stop()
        relay.stop()

    return WebStack(gateway, addresses, smtp_port, authority, outbox, replicas), stop


@contextlib.asynccontextmanager
async def another_gateway(stack: WebStack, **changes: Any) -> AsyncIterator[str]:
    """A second gateway in front of the stack's services (another replica, or one configured with
    `changes`), for as long as the block runs; its URL."""
    gateway = WebGateway(dataclasses.replace(stack.gateway.settings, **changes))
    await gateway.start()
    try:
        yield f"http://127.0.0.1:{gateway.port}"
    finally:
        await gateway.stop()


async def seed(addresses: dict[str, str], admin: tuple[tuple[str, str], ...]) -> None:
    # Two services, each seeded in order, side by side.
    await asyncio.gather(_seed_routing(addresses["routing"], admin), _seed_knowledge(addresses["knowledge"], admin))


async def _seed_routing(address: str, admin: tuple[tuple[str, str], ...]) -> None:
    async with grpc.aio.insecure_channel(address) as chan:
        routing = routing_pb2_grpc.RoutingServiceStub(chan)
        for queue_id, groups in QUEUES:
            await routing.CreateQueue(routing_pb2.CreateQueueRequest(queue=routing_pb2.Queue(
                id=queue_id, display_name=queue_id.title(), groups=groups, overflow_threshold=1000,
                policy=routing_pb2.RoutingPolicy(offer_timeout=Duration(seconds=60)))), metadata=admin)
        for agent_id, name, groups in (*AGENTS, SUPERVISOR):
            await routing.CreateAgent(routing_pb2.CreateAgentRequest(agent=routing_pb2.Agent(
                id=agent_id, display_name=name, groups=groups, languages=["en", "zh"],
                supervisor=agent_id == SUPERVISOR[0],
                skills=[routing_pb2.Skill(name=g, proficiency=3) for g in groups],
                capacities=[routing_pb2.ChannelCapacity(channel=c, max_concurrent=n) for c, n in CAPACITY.items()])),
                metadata=admin)


async def _seed_knowledge(address: str, admin: tuple[tuple[str, str], ...]) -> None:
    async with grpc.aio.insecure_channel(address) as chan:
        knowledge = knowledge_pb2_grpc.KnowledgeServiceStub(chan)
        await knowledge.CreateArticle(knowledge_pb2.CreateArticleRequest(article_id="refund-times", article=(
            knowledge_pb2.Article(title="Refund times", body=REFUND_ANSWER, language="en",
                                  audience=knowledge_pb2.AUDIENCE_PUBLIC, tags=["refund"]))), metadata=admin)
        for status in (knowledge_pb2.ARTICLE_STATUS_REVIEW, knowledge_pb2.ARTICLE_STATUS_PUBLISHED):
            await knowledge.TransitionArticle(knowledge_pb2.TransitionArticleRequest(id="refund-times", status=status),
                                              metadata=admin)


async def create_customer(addresses: dict[str, str], admin: tuple[tuple[str, str], ...], name: str, email: str,
                          *, tier: str = "", tags: tuple[str, ...] = (), phone: str = "",
                          language: str = "en") -> tickets_pb2.Customer:
    identities = [common_pb2.Identity(kind=common_pb2.IDENTITY_KIND_EMAIL, value=email)]
    if phone:
        identities.append(common_pb2.Identity(kind=common_pb2.IDENTITY_KIND_PHONE, value=phone))
    async with grpc.aio.insecure_channel(addresses["tickets"]) as chan:
        return await tickets_pb2_grpc.TicketServiceStub(chan).CreateCustomer(tickets_pb2.CreateCustomerRequest(
            customer=tickets_pb2.Customer(display_name=name, language=language, tier=tier, tags=list(tags),
                                          identities=identities)), metadata=admin)
