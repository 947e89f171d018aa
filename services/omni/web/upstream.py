"""The gRPC services the gateway relays to, always with the browser user's own token.

Each call carries the caller's bearer token as explicit metadata (the gateway has no token of its
own to lend), so the services apply exactly the access rules they apply to that caller anywhere
else. Their refusals come back as the runtime's domain errors, which the routes turn into HTTP.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Iterator
from typing import TypeVar

import grpc
from websockets.asyncio.client import ClientConnection, connect

from omni.runtime import errors
from omni.runtime.clients import channel
from omni.runtime.status import STATUS_CODES
from omni.web.settings import WebSettings
from omnichannel.knowledge.v1 import knowledge_pb2_grpc
from omnichannel.reports.v1 import reports_pb2_grpc
from omnichannel.routing.v1 import routing_pb2_grpc
from omnichannel.sessions.v1 import sessions_pb2_grpc
from omnichannel.supervision.v1 import supervision_pb2_grpc
from omnichannel.tickets.v1 import tickets_pb2_grpc

T = TypeVar("T")
_ERRORS = {code: kind for kind, code in STATUS_CODES.items()}


def domain_error(exc: grpc.aio.AioRpcError) -> errors.DomainError:
    kind = _ERRORS.get(exc.code(), errors.Unavailable)
    return kind(exc.details() or exc.code().name)


@contextlib.contextmanager
def translated() -> Iterator[None]:
    """Inside the block a service's refusal is raised as the matching domain error."""
    try:
        yield
    except grpc.aio.AioRpcError as exc:
        raise domain_error(exc) from None


async def relay(call: Awaitable[T]) -> T:
    with translated():
        return await call


async def relay_stream(call: AsyncIterable[T]) -> AsyncIterator[T]:
    with translated():
        async for item in call:
            yield item


class Upstream:
    def __init__(self, settings: WebSettings) -> None:
        self.timeout = settings.web_rpc_timeout
        self._chat_url = settings.web_chat_url
        self._max_frame = settings.web_max_frame_bytes
        # Over TLS when the services serve it (OMNI_GRPC_TLS_CA_FILE), like every other client of theirs.
        self._channels = [channel(a, tls_ca_file=settings.grpc_tls_ca_file)
                          for a in (settings.sessions_addr, settings.routing_addr, settings.tickets_addr,
                                    settings.knowledge_addr, settings.reports_addr, settings.supervision_addr)]
        sessions, routing, tickets, knowledge, reports, supervision = self._channels
        # For the desk's stream, opened again on whichever routing replica serves the agent.
        self.routing_channel = routing
        self.sessions = sessions_pb2_grpc.SessionServiceStub(sessions)
        self.routing = routing_pb2_grpc.RoutingServiceStub(routing)
        self.tickets = tickets_pb2_grpc.TicketServiceStub(tickets)
        self.knowledge = knowledge_pb2_grpc.KnowledgeServiceStub(knowledge)
        self.reports = reports_pb2_grpc.ReportServiceStub(reports)
        self.supervision = supervision_pb2_grpc.SupervisionServiceStub(supervision)
        self.telephony = sessions_pb2_grpc.TelephonyServiceStub(sessions)

    def chat(self, visitor_address: str) -> contextlib.AbstractAsyncContextManager[ClientConnection]:
        """A connection to the sessions service's public chat endpoint, as any website visitor gets:
        the gateway adds no credential of its own, so a visitor can do through it only what they
        could do directly. `visitor_address` goes in X-Forwarded-For: sessions limits each visitor's
        address, not the gateway's (it believes the header from its trusted proxies only)."""
        headers = {"X-Forwarded-For": visitor_address} if visitor_address else None
        return connect(self._chat_url, max_size=self._max_frame * 4, open_timeout=self.timeout,
                       additional_headers=headers)

    async def close(self) -> None:
        for chan in self._channels:
            await chan.close()
