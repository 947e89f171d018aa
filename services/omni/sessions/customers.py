"""What sessions asks tickets while a call starts: the caller's accessibility needs from their
customer tags, with a short deadline and no needs when tickets cannot say (the caller then hears
the standard menus, as before)."""

from __future__ import annotations

import logging
from collections.abc import Callable

import grpc

from omni.runtime import accessibility
from omni.runtime.clients import channel
from omni.runtime.token_source import TokenSource
from omnichannel.common.v1 import common_pb2
from omnichannel.tickets.v1 import tickets_pb2, tickets_pb2_grpc

log = logging.getLogger("omni.sessions.customers")


class CallerNeeds:
    def __init__(self, tickets_addr: str, token_for: Callable[[str], TokenSource], timeout: float, *,
                 tls_ca_file: str = "") -> None:
        """`token_for(service)`: sessions' token for calls to that service."""
        self._tickets = tickets_pb2_grpc.TicketServiceStub(
            channel(tickets_addr, token_for("tickets"), tls_ca_file=tls_ca_file)) if tickets_addr else None
        self._timeout = timeout

    async def __call__(self, ani: str) -> tuple[str, ...]:
        """The needs the tags of the customer with phone number `ani` name; () when none is known."""
        if self._tickets is None:
            return ()
        request = tickets_pb2.GetCustomerContextRequest(
            identity=common_pb2.Identity(kind=common_pb2.IDENTITY_KIND_PHONE, value=ani), interaction_limit=1)
        try:
            context = await self._tickets.GetCustomerContext(request, timeout=self._timeout)
        except grpc.aio.AioRpcError as exc:
            if exc.code() != grpc.StatusCode.NOT_FOUND:
                log.warning("caller's accessibility needs unavailable: tickets %s %s", exc.code().name, exc.details())
            return ()
        return accessibility.from_tags(context.customer.tags)
