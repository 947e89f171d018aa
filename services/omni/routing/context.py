"""What routing asks other services, each with a short deadline and a graceful fallback:
the customer's context (tickets) for VIP tier, accessibility needs and last agent, and knowledge suggestions
for the screen pop."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Callable

import grpc

from omni.routing.domain.callbacks import DO_NOT_CONTACT
from omni.routing.domain.work import Work
from omni.runtime import accessibility
from omni.runtime.clients import channel
from omni.runtime.token_source import TokenSource
from omnichannel.common.v1 import common_pb2
from omnichannel.knowledge.v1 import knowledge_pb2, knowledge_pb2_grpc
from omnichannel.routing.v1 import routing_pb2
from omnichannel.tickets.v1 import tickets_pb2, tickets_pb2_grpc

log = logging.getLogger("omni.routing.context")
# A contact's identities asked of tickets one by one at most: a bound on the calls one screen pop
# makes (sessions publishes a caller's number, a chat's handle and signed email or phone).
MAX_IDENTITIES_ASKED = 4


@dataclasses.dataclass(frozen=True)
class CustomerFacts:
    context: tickets_pb2.CustomerContext | None
    # Why the context is missing ("" when it answered).
    degraded: str = ""

    @property
    def known(self) -> bool:
        return self.context is not None

    @property
    def customer_id(self) -> str:
        return self.context.customer.id if self.context is not None else ""

    @property
    def customer_name(self) -> str:
        return self.context.customer.display_name if self.context is not None else ""

    @property
    def vip(self) -> bool:
        return self.context is not None and self.context.customer.tier.lower() == "vip"

    @property
    def accessibility(self) -> tuple[str, ...]:
        """The needs the customer's tags name (`accessibility:hearing` -> "hearing")."""
        if self.context is None:
            return ()
        return accessibility.from_tags(self.context.customer.tags)

    @property
    def do_not_contact(self) -> bool:
        """The customer asked not to be contacted unasked (the tag `do_not_contact` in tickets)."""
        return self.context is not None and DO_NOT_CONTACT in self.context.customer.tags

    @property
    def last_agent_id(self) -> str:
        if self.context is None:
            return ""
        return self.context.customer.preferred_agent_id or self.context.last_agent_id or \
            self.context.customer.last_agent_id


class ContextSources:
    def __init__(self, tickets_addr: str, knowledge_addr: str, token_for: Callable[[str], TokenSource],
                 timeout: float, *, tls_ca_file: str = "") -> None:
        """`token_for(service)`: routing's token for calls to that service."""
        self._tickets = tickets_pb2_grpc.TicketServiceStub(
            channel(tickets_addr, token_for("tickets"), tls_ca_file=tls_ca_file)) if tickets_addr else None
        self._knowledge = knowledge_pb2_grpc.KnowledgeServiceStub(
            channel(knowledge_addr, token_for("knowledge"), tls_ca_file=tls_ca_file)) if knowledge_addr else None
        self.timeout = timeout

    async def customer(self, work: Work) -> CustomerFacts:
        """The customer's context: by the contact's customer id, else by each of its identities in
        turn (email and phone before a chat handle, which for a web chat is the widget's anonymous
        one) until tickets knows one."""
        if self._tickets is None:
            return CustomerFacts(None, "tickets service not configured (OMNI_TICKETS_ADDR)")
        if work.customer_id:
            asked = [tickets_pb2.GetCustomerContextRequest(customer_id=work.customer_id, interaction_limit=5)]
        elif work.identities:
            ordered = sorted(work.identities, key=lambda identity: identity[0] == common_pb2.IDENTITY_KIND_CHAT_HANDLE)
            asked = [tickets_pb2.GetCustomerContextRequest(
                identity=common_pb2.Identity(kind=kind, value=value),  # type: ignore[arg-type]
                interaction_limit=5) for kind, value in ordered[:MAX_IDENTITIES_ASKED]]
        else:
            return CustomerFacts(None, "no customer identity on the contact")
        for request in asked:
            try:
                return CustomerFacts(await self._tickets.GetCustomerContext(request, timeout=self.timeout))
            except grpc.aio.AioRpcError as exc:
                if exc.code() != grpc.StatusCode.NOT_FOUND:
                    log.warning("customer context for %s unavailable: %s", work.id, exc.code().name)
                    return CustomerFacts(None, f"tickets: {exc.code().name}")
        return CustomerFacts(None, "new customer: no context yet")

    async def suggestions(self, work: Work) -> tuple[list[routing_pb2.SuggestedArticle], str]:
        if self._knowledge is None:
            return [], "knowledge service not configured (OMNI_KNOWLEDGE_ADDR)"
        if not work.text:
            return [], ""
        try:
            found = await self._knowledge.Suggest(knowledge_pb2.SuggestRequest(
                text=work.text, queue=work.queue_id, intent=work.intent, session_id=work.session_id, limit=3),
                timeout=self.timeout)
        except grpc.aio.AioRpcError as exc:
            log.warning("suggestions for %s unavailable: %s", work.id, exc.code().name)
            return [], f"knowledge: {exc.code().name}"
        return [routing_pb2.SuggestedArticle(article_id=h.article.id, title=h.article.title, score=h.score)
                for h in found.hits], ""

    async def screen_pop(self, work: Work, known: CustomerFacts | None = None) -> routing_pb2.ScreenPop:
        """Customer context and suggestions, fetched together; what failed is listed in `degraded`."""
        facts, (articles, knowledge_problem) = await asyncio.gather(
            self.customer(work) if known is None or known.context is None else _ready(known),
            self.suggestions(work))
        pop = routing_pb2.ScreenPop(customer_id=work.customer_id, display_name=work.customer_name,
                                    language=work.language, suggestions=articles)
        if facts.context is not None:
            customer = facts.context.customer
            pop.customer_id = customer.id
            pop.display_name = customer.display_name
            pop.tier = customer.tier
            pop.tags.extend(customer.tags)
            pop.language = customer.language or work.language
            pop.open_ticket_ids.extend(t.id for t in facts.context.open_tickets)
            pop.last_agent_id = facts.last_agent_id
            pop.recent_interactions.extend(facts.context.recent_interactions[:5])
        pop.degraded.extend(p for p in (facts.degraded, knowledge_problem) if p)
        return pop


async def _ready(facts: CustomerFacts) -> CustomerFacts:
    return facts
