"""Every List RPC refuses a page token it did not issue, and a token never widens a list.

Before tokens were signed, an agent could make up a ListSessions token (base64 JSON) whose
position replaced the group filter and read every group's sessions.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Awaitable, Callable
from typing import Any

import grpc
import pytest

from omni.knowledge.service import SPEC as KNOWLEDGE
from omni.routing.service import SPEC as ROUTING
from omni.runtime.auth import Role
from omni.runtime.paging import PageTokens
from omni.sessions.service import SPEC as SESSIONS
from omni.tickets.service import SPEC as TICKETS
from omnichannel.knowledge.v1 import knowledge_pb2 as kpb
from omnichannel.knowledge.v1 import knowledge_pb2_grpc
from omnichannel.routing.v1 import routing_pb2 as rpb
from omnichannel.routing.v1 import routing_pb2_grpc
from omnichannel.sessions.v1 import sessions_pb2 as spb
from omnichannel.sessions.v1 import sessions_pb2_grpc
from omnichannel.tickets.v1 import tickets_pb2 as tpb
from omnichannel.tickets.v1 import tickets_pb2_grpc
from tests.conftest import TEST_REPLICA_SECRET, StartService

# (service, stub, method, request with the token set) for every List RPC of the platform.
ListCall = Callable[[Any, str], Awaitable[Any]]
LISTS: dict[str, tuple[Any, Any, Callable[[str], Any], str]] = {
    "ListSessions": (SESSIONS, sessions_pb2_grpc.SessionServiceStub, lambda t: spb.ListSessionsRequest(page_token=t),
                     "sessions"),
    "ListTickets": (TICKETS, tickets_pb2_grpc.TicketServiceStub, lambda t: tpb.ListTicketsRequest(page_token=t),
                    "tickets"),
    "ListCustomers": (TICKETS, tickets_pb2_grpc.TicketServiceStub, lambda t: tpb.ListCustomersRequest(page_token=t),
                      "customers"),
    "ListArticles": (KNOWLEDGE, knowledge_pb2_grpc.KnowledgeServiceStub,
                     lambda t: kpb.ListArticlesRequest(page_token=t), "articles"),
    "SearchArticles": (KNOWLEDGE, knowledge_pb2_grpc.KnowledgeServiceStub,
                       lambda t: kpb.SearchArticlesRequest(query="refund", page_token=t), "search"),
    "ListAgents": (ROUTING, routing_pb2_grpc.RoutingServiceStub, lambda t: rpb.ListAgentsRequest(page_token=t),
                   "agents"),
    "ListQueues": (ROUTING, routing_pb2_grpc.RoutingServiceStub, lambda t: rpb.ListQueuesRequest(page_token=t),
                   "queues"),
    "ListWorkItems": (ROUTING, routing_pb2_grpc.RoutingServiceStub, lambda t: rpb.ListWorkItemsRequest(page_token=t),
                      "work"),
}


def forged_tokens(listing: str) -> dict[str, str]:
    genuine_elsewhere = PageTokens.derived_from(TEST_REPLICA_SECRET).issue(("zzz",), listing=listing, filters=["other"])
    mac = genuine_elsewhere.partition(".")[2]
    return {
        "unsigned, the old form": base64.urlsafe_b64encode(json.dumps({"after": "", "t": "2000-01-01T00:00:00",
                                                                        "id": "~"}).encode()).decode(),
        "signed by another key": PageTokens.derived_from("not-this-deployment").issue(("a",), listing=listing,
                                                                                      filters=[]),
        "issued for other filters": genuine_elsewhere,
        "body changed": base64.urlsafe_b64encode(b'["a"]').decode().rstrip("=") + "." + mac,
        "garbage": "%%%",
    }


@pytest.mark.parametrize("rpc", sorted(LISTS))
async def test_a_forged_or_tampered_page_token_is_refused(rpc: str, start_service: StartService,
                                                         token_for: Any) -> None:
    spec, stub_type, request_with, listing = LISTS[rpc]
    host = await start_service(spec)
    async with grpc.aio.insecure_channel(host.address) as channel:
        method = getattr(stub_type(channel), rpc)
        caller = token_for(Role.SUPERVISOR, "S-1")
        await method(request_with(""), metadata=caller)  # the list itself answers
        for name, token in forged_tokens(listing).items():
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await method(request_with(token), metadata=caller)
            assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT, name
            assert "page_token" in (refused.value.details() or ""), name
