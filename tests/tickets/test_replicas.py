"""Two tickets replicas on one NATS and one database, driven at once: what one process guarantees
(one ticket per matter, one interaction per id, one ticket per request id) holds across both."""

from __future__ import annotations

import asyncio
import random

import grpc

from omni.devstack.processes import ManagedProcess
from omni.runtime.config import ServiceSettings
from omni.tickets.service import SPEC
from omnichannel.common.v1 import common_pb2
from omnichannel.sessions.v1.events_pb2 import InteractionReceived
from omnichannel.tickets.v1 import tickets_pb2 as pb
from omnichannel.tickets.v1 import tickets_pb2_grpc
from tests.conftest import StartService
from tests.support.settings import ticket_settings
from tests.tickets.conftest import Harness, at, interaction, make_harness, phone

PHONE, CHAT = common_pb2.CHANNEL_PHONE, common_pb2.CHANNEL_CHAT


async def all_tickets(stub: tickets_pb2_grpc.TicketServiceStub, metadata: object) -> list[pb.Ticket]:
    tickets: list[pb.Ticket] = []
    token = ""
    while True:
        page = await stub.ListTickets(pb.ListTicketsRequest(page_size=50, page_token=token), metadata=metadata)
        tickets.extend(page.tickets)
        if not (token := page.next_page_token):
            return tickets


async def test_two_replicas_threading_one_burst_make_one_ticket_per_matter(
        start_service: StartService, settings: ServiceSettings, nats: ManagedProcess, authority: object) -> None:
    first: Harness = await make_harness(start_service, settings, nats, authority)
    second = await start_service(SPEC, settings_override=ticket_settings(settings))
    other = tickets_pb2_grpc.TicketServiceStub(grpc.aio.insecure_channel(second.address))
    try:
        rng = random.Random(17)
        plan: list[common_pb2.Interaction] = []
        for c in range(12):
            number = f"+86 139 17{c:02d} {c:04d}"
            # Each customer calls and chats about one matter within minutes: one ticket each, however
            # the burst is split between the replicas.
            plan.extend(interaction((PHONE, CHAT)[k % 2], at(c + k), phone(number), queue="billing")
                        for k in range(3))
        rng.shuffle(plan)
        # Every interaction is also announced a second time under another event id (a producer's
        # retry), so the two replicas may well take the two copies at the same moment.
        await asyncio.gather(*(first.bus.publish("sessions", "interaction_received", f"sessions/{m.session_id}",
                                                 InteractionReceived(interaction=m), event_id=f"{m.id}:{copy}")
                               for m in plan for copy in (1, 2)))
        for msg in plan:
            await first.threaded(msg.id, within=120)

        tickets = await all_tickets(first.stub, first.metadata)
        assert len(tickets) == 12 and len({t.customer_id for t in tickets}) == 12
        assert sorted(t.interaction_count for t in tickets) == [3] * 12
        assert len(await all_tickets(other, first.metadata)) == 12

        # One agent's retried CreateTicket reaching both replicas at once makes one ticket.
        request = pb.CreateTicketRequest(
            ticket=pb.Ticket(customer_id=tickets[0].customer_id, subject="Refund twice", queue="billing"),
            request_id="req-both-replicas")
        made = await asyncio.gather(first.stub.CreateTicket(request, metadata=first.metadata),
                                    other.CreateTicket(request, metadata=first.metadata),
                                    first.stub.CreateTicket(request, metadata=first.metadata))
        assert len({t.id for t in made}) == 1
        assert len(await all_tickets(other, first.metadata)) == 13
    finally:
        await first.close()
