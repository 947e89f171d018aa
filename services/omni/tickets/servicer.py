"""TicketService: protobuf ↔ the use cases (desk, customers, watch); nothing else."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from omni.runtime.auth import current_principal
from omni.runtime.interceptors import Context
from omni.runtime.paging import PageRequest, PageTokens, page_size
from omni.runtime.validation import mask_paths, require
from omni.tickets import convert
from omni.tickets.usecases import customers, desk
from omni.tickets.usecases.watch import TicketWatch
from omnichannel.tickets.v1 import tickets_pb2 as pb
from omnichannel.tickets.v1 import tickets_pb2_grpc


class TicketServicer(tickets_pb2_grpc.TicketServiceServicer):
    def __init__(self, desk_: desk.Desk, customers_: customers.Customers, watch: TicketWatch,
                 page_tokens: PageTokens) -> None:
        self._desk = desk_
        self._customers = customers_
        self._watch = watch
        self._tokens = page_tokens

    # --- tickets ---------------------------------------------------------------------------

    async def GetTicket(self, request: pb.GetTicketRequest, context: Context) -> pb.Ticket:
        ticket, timeline = await self._desk.ticket(current_principal(), request.id)
        return convert.ticket_to_proto(ticket, timeline)

    async def ListTickets(self, request: pb.ListTicketsRequest, context: Context) -> pb.ListTicketsResponse:
        where = convert.ticket_filter(request)
        asked = [request.customer_id, list(request.statuses), request.queue, request.assignee_id, request.tag,
                 request.order_by]
        after = self._tokens.read(request.page_token, listing="tickets", filters=asked)
        page = await self._desk.list(current_principal(), where, request.order_by,
                                     PageRequest(page_size(request.page_size), after))
        return pb.ListTicketsResponse(
            tickets=[convert.ticket_to_proto(t) for t in page.items],
            next_page_token=self._tokens.issue(page.next_after, listing="tickets", filters=asked))

    async def CreateTicket(self, request: pb.CreateTicketRequest, context: Context) -> pb.Ticket:
        ticket = await self._desk.create(current_principal(), convert.ticket_draft(request.ticket), request.request_id)
        return convert.ticket_to_proto(ticket)

    async def UpdateTicket(self, request: pb.UpdateTicketRequest, context: Context) -> pb.Ticket:
        paths = mask_paths(request.update_mask.paths, desk.UPDATABLE, resource="ticket")
        change = convert.ticket_draft(request.ticket)
        change.id = require(request.ticket.id, "ticket.id")
        return convert.ticket_to_proto(await self._desk.update(current_principal(), change, paths))

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
        """First a `watching` frame once the subscription is live, then the changes."""
        changes = self._watch.changes(current_principal(), convert.watch_filter(request))
        async with contextlib.aclosing(changes):
            async for change in changes:
                yield convert.change_to_proto(change)

    # --- customers -------------------------------------------------------------------------

    async def GetCustomer(self, request: pb.GetCustomerRequest, context: Context) -> pb.Customer:
        return convert.customer_to_proto(await self._customers.get(request.id))

    async def ListCustomers(self, request: pb.ListCustomersRequest, context: Context) -> pb.ListCustomersResponse:
        asked = [request.tag, request.tier]
        after = self._tokens.read(request.page_token, listing="customers", filters=asked)
        page = await self._customers.list(request.tag, request.tier, PageRequest(page_size(request.page_size), after))
        return pb.ListCustomersResponse(
            customers=[convert.customer_to_proto(c) for c in page.items],
            next_page_token=self._tokens.issue(page.next_after, listing="customers", filters=asked))

    async def CreateCustomer(self, request: pb.CreateCustomerRequest, context: Context) -> pb.Customer:
        presented = [convert.identity_from_proto(i) for i in request.customer.identities]
        customer = await self._customers.create(convert.customer_draft(request.customer), presented,
                                                request.request_id)
        return convert.customer_to_proto(customer)

    async def UpdateCustomer(self, request: pb.UpdateCustomerRequest, context: Context) -> pb.Customer:
        paths = mask_paths(request.update_mask.paths, customers.UPDATABLE, resource="customer")
        return convert.customer_to_proto(await self._customers.update(current_principal(),
                                                                       convert.customer_draft(request.customer), paths))

    async def LookupCustomer(self, request: pb.LookupCustomerRequest, context: Context) -> pb.Customer:
        return convert.customer_to_proto(await self._customers.lookup(convert.identity_from_proto(request.identity)))

    async def AddIdentity(self, request: pb.AddIdentityRequest, context: Context) -> pb.Customer:
        identity = convert.identity_from_proto(request.identity)
        return convert.customer_to_proto(await self._customers.add_identity(current_principal(), request.customer_id,
                                                                            identity))

    async def MergeCustomers(self, request: pb.MergeCustomersRequest, context: Context) -> pb.Customer:
        return convert.customer_to_proto(await self._customers.merge(request.source_customer_id,
                                                                     request.target_customer_id))

    async def GetCustomerContext(self, request: pb.GetCustomerContextRequest, context: Context) -> pb.CustomerContext:
        identity = convert.identity_from_proto(request.identity) if request.HasField("identity") else None
        asked = [request.customer_id, request.identity.kind, request.identity.value, request.interaction_limit]
        after = self._tokens.read(request.page_token, listing="customer_history", filters=asked)
        found = await self._customers.context(current_principal(), request.customer_id, identity,
                                              request.interaction_limit, after)
        return pb.CustomerContext(
            customer=convert.customer_to_proto(found.customer),
            open_tickets=[convert.ticket_to_proto(t) for t in found.open_tickets],
            recent_interactions=[convert.interaction_to_proto(r) for r in found.recent],
            last_agent_id=found.customer.last_agent_id,
            total_tickets=found.total_tickets,
            next_page_token=self._tokens.issue(found.next_after, listing="customer_history", filters=asked),
        )
