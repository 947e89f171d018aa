"""TicketService: protobuf ↔ the desk, customers and watch; nothing else."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import grpc
from nats.aio.client import Client as NatsClient

from omni.runtime.auth import current_principal
from omni.runtime.errors import InvalidArgument
from omni.runtime.events import SUBJECT_ROOT, unpack
from omni.runtime.paging import PageRequest, PageTokens, page_size
from omni.runtime.validation import mask_paths, require
from omni.tickets import convert, customers, desk
from omni.tickets.identities import Identity
from omni.tickets.lifecycle import Priority, Status
from omni.tickets.model import Customer, Ticket
from omni.tickets.publishing import DOMAIN, TICKET_CHANGES
from omnichannel.common.v1 import common_pb2
from omnichannel.common.v1.event_pb2 import EventEnvelope
from omnichannel.tickets.v1 import events_pb2, tickets_pb2_grpc
from omnichannel.tickets.v1 import tickets_pb2 as pb

Context = grpc.aio.ServicerContext[object, object]
WATCH_BUFFER = 1000


class TicketServicer(tickets_pb2_grpc.TicketServiceServicer):
    def __init__(self, desk_: desk.Desk, customers_: customers.Customers, nc: NatsClient,
                 page_tokens: PageTokens) -> None:
        self._desk = desk_
        self._customers = customers_
        self._nc = nc
        self._tokens = page_tokens

    # --- tickets ---------------------------------------------------------------------------

    async def GetTicket(self, request: pb.GetTicketRequest, context: Context) -> pb.Ticket:
        ticket, timeline = await self._desk.ticket(current_principal(), request.id)
        return convert.ticket_to_proto(ticket, timeline)

    async def ListTickets(self, request: pb.ListTicketsRequest, context: Context) -> pb.ListTicketsResponse:
        where = desk.TicketFilter(customer_id=request.customer_id,
                                  statuses=tuple(_status(s) for s in request.statuses), queue=request.queue,
                                  assignee_id=request.assignee_id, tag=request.tag)
        asked = [request.customer_id, list(request.statuses), request.queue, request.assignee_id, request.tag,
                 request.order_by]
        after = self._tokens.read(request.page_token, listing="tickets", filters=asked)
        page = await self._desk.list(current_principal(), where, request.order_by,
                                     PageRequest(page_size(request.page_size), after))
        return pb.ListTicketsResponse(
            tickets=[convert.ticket_to_proto(t) for t in page.items],
            next_page_token=self._tokens.issue(page.next_after, listing="tickets", filters=asked))

    async def CreateTicket(self, request: pb.CreateTicketRequest, context: Context) -> pb.Ticket:
        ticket = await self._desk.create(current_principal(), _ticket(request.ticket), request.request_id)
        return convert.ticket_to_proto(ticket)

    async def UpdateTicket(self, request: pb.UpdateTicketRequest, context: Context) -> pb.Ticket:
        paths = mask_paths(request.update_mask.paths, desk.UPDATABLE, resource="ticket")
        change = _ticket(request.ticket)
        change.id = require(request.ticket.id, "ticket.id")
        ticket = await self._desk.update(current_principal(), change, paths)
        return convert.ticket_to_proto(ticket)

    async def AddNote(self, request: pb.AddNoteRequest, context: Context) -> pb.Ticket:
        return convert.ticket_to_proto(await self._desk.add_note(current_principal(), request.ticket_id, request.text,
                                                                 request.request_id))

    async def AssignTicket(self, request: pb.AssignTicketRequest, context: Context) -> pb.Ticket:
        return convert.ticket_to_proto(await self._desk.assign(current_principal(), request.ticket_id,
                                                               request.assignee_id, request.group))

    async def MergeTickets(self, request: pb.MergeTicketsRequest, context: Context) -> pb.Ticket:
        return convert.ticket_to_proto(await self._desk.merge(current_principal(), request.source_ticket_id,
                                                              request.target_ticket_id))

    async def SplitTicket(self, request: pb.SplitTicketRequest, context: Context) -> pb.SplitTicketResponse:
        original, created = await self._desk.split(current_principal(), request.ticket_id,
                                                   list(request.interaction_ids), request.subject)
        return pb.SplitTicketResponse(original=convert.ticket_to_proto(original),
                                      created=convert.ticket_to_proto(created))

    async def WatchTickets(self, request: pb.WatchTicketsRequest, context: Context) -> AsyncIterator[pb.TicketChange]:
        """Ticket events from the bus, filtered to what the caller asked for and may see."""
        principal = current_principal()
        queue: asyncio.Queue[EventEnvelope] = asyncio.Queue(WATCH_BUFFER)

        async def received(msg: object) -> None:
            envelope = EventEnvelope.FromString(msg.data)  # type: ignore[attr-defined]
            if envelope.type in TICKET_CHANGES and not queue.full():
                queue.put_nowait(envelope)

        subscription = await self._nc.subscribe(f"{SUBJECT_ROOT}.{DOMAIN}.>", cb=received)
        await self._nc.flush()
        try:
            while True:
                envelope = await queue.get()
                ticket = unpack(envelope, events_pb2.TicketEvent).ticket
                if not principal.may_see_group([g for g in (ticket.queue, ticket.group) if g]):
                    continue
                if any(want and want != have for want, have in ((request.queue, ticket.queue),
                                                                (request.assignee_id, ticket.assignee_id),
                                                                (request.customer_id, ticket.customer_id))):
                    continue
                yield pb.TicketChange(change=envelope.type.removeprefix("ticket_"), ticket=ticket,
                                      occurred_at=envelope.occurred_at)
        finally:
            await subscription.unsubscribe()

    # --- customers -------------------------------------------------------------------------

    async def GetCustomer(self, request: pb.GetCustomerRequest, context: Context) -> pb.Customer:
        return convert.customer_to_proto(await self._customers.repo.get_customer(require(request.id, "id")))

    async def ListCustomers(self, request: pb.ListCustomersRequest, context: Context) -> pb.ListCustomersResponse:
        asked = [request.tag, request.tier]
        after = self._tokens.read(request.page_token, listing="customers", filters=asked)
        page = await self._customers.repo.list_customers(tag=request.tag, tier=request.tier,
                                                         page=PageRequest(page_size(request.page_size), after))
        return pb.ListCustomersResponse(
            customers=[convert.customer_to_proto(c) for c in page.items],
            next_page_token=self._tokens.issue(page.next_after, listing="customers", filters=asked))

    async def CreateCustomer(self, request: pb.CreateCustomerRequest, context: Context) -> pb.Customer:
        draft = _customer(request.customer)
        draft.identities = [self._identity(i) for i in request.customer.identities]
        return convert.customer_to_proto(await self._customers.create(draft, request.request_id))

    async def UpdateCustomer(self, request: pb.UpdateCustomerRequest, context: Context) -> pb.Customer:
        paths = mask_paths(request.update_mask.paths, customers.UPDATABLE, resource="customer")
        return convert.customer_to_proto(await self._customers.update(current_principal(), _customer(request.customer),
                                                                       paths))

    async def LookupCustomer(self, request: pb.LookupCustomerRequest, context: Context) -> pb.Customer:
        return convert.customer_to_proto(await self._customers.lookup(self._identity(request.identity)))

    async def AddIdentity(self, request: pb.AddIdentityRequest, context: Context) -> pb.Customer:
        return convert.customer_to_proto(await self._customers.add_identity(current_principal(), request.customer_id,
                                                                            self._identity(request.identity)))

    async def MergeCustomers(self, request: pb.MergeCustomersRequest, context: Context) -> pb.Customer:
        return convert.customer_to_proto(await self._customers.merge(request.source_customer_id,
                                                                     request.target_customer_id))

    async def GetCustomerContext(self, request: pb.GetCustomerContextRequest, context: Context) -> pb.CustomerContext:
        identity = self._identity(request.identity) if request.HasField("identity") else None
        found = await self._customers.context(current_principal(), request.customer_id, identity,
                                              request.interaction_limit)
        return pb.CustomerContext(
            customer=convert.customer_to_proto(found.customer),
            open_tickets=[convert.ticket_to_proto(t) for t in found.open_tickets],
            recent_interactions=[convert.interaction(r) for r in found.recent],
            last_agent_id=found.customer.last_agent_id,
            total_tickets=found.total_tickets,
        )

    def _identity(self, identity: common_pb2.Identity) -> Identity:
        if identity.kind not in convert.KINDS_BACK:
            raise InvalidArgument("identity.kind is required (phone, email, chat handle or external)")
        return self._customers.identity(convert.KINDS_BACK[identity.kind], identity.value)


def _status(value: int) -> Status:
    if value not in pb.TicketStatus.values() or value not in convert.STATUSES_BACK:
        raise InvalidArgument(f"ticket status {value} is not one of: "
                              f"{', '.join(pb.TicketStatus.Name(v) for v in convert.STATUSES_BACK)}")
    return convert.STATUSES_BACK[pb.TicketStatus.ValueType(value)]


def _ticket(message: pb.Ticket) -> Ticket:
    return Ticket(
        id=message.id, customer_id=message.customer_id, subject=message.subject,
        status=_status(message.status) if message.status else Status.NEW,
        priority=convert.PRIORITIES_BACK.get(message.priority, Priority.NORMAL), queue=message.queue.strip(),
        group=message.group.strip(), tags=[t.strip() for t in message.tags if t.strip()],
        origin_channel=convert.CHANNELS_BACK.get(message.origin_channel, ""), csat=message.csat,
        disposition=message.disposition, version=message.version,
    )


def _customer(message: pb.Customer) -> Customer:
    return Customer(id=message.id, display_name=message.display_name.strip(), language=message.language.strip(),
                    tier=message.tier.strip().lower(), tags=[t.strip() for t in message.tags if t.strip()],
                    preferred_agent_id=message.preferred_agent_id, version=message.version)
