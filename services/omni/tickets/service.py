"""Wiring of the tickets service: use cases, servicer, consumers, SLA loop, access rules, indexes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import grpc

from omni.runtime.auth import MANAGERS, STAFF, Role
from omni.runtime.server import Runtime, ServiceSpec
from omni.tickets import repository
from omni.tickets.consumers import INTERACTION_EVENTS, ROUTING_EVENTS, SURVEY_EVENTS, TicketConsumers, customer_keys
from omni.tickets.domain.threading import Windows
from omni.tickets.publishing import TicketEvents, ticket_feed
from omni.tickets.servicer import TicketServicer
from omni.tickets.settings import TicketSettings, policy_from
from omni.tickets.usecases.customers import Customers
from omni.tickets.usecases.desk import Desk
from omni.tickets.usecases.identity_owners import KnownOwners
from omni.tickets.usecases.ingestion import Ingestion, Rules
from omni.tickets.usecases.sla import SlaWatch
from omni.tickets.usecases.watch import TicketWatch
from omnichannel.tickets.v1 import tickets_pb2, tickets_pb2_grpc


async def register(server: grpc.aio.Server, runtime: Runtime) -> Sequence[str]:
    settings = TicketSettings.extending(runtime.settings)
    policy = policy_from(settings.sla_first_response_minutes, settings.sla_resolution_minutes)
    repo = repository.TicketRepository(runtime.db)
    events = TicketEvents(runtime.bus)
    desk = Desk(repo, events, policy, settings)
    # Identity owners remembered across batches and screen pops (usecases/identity_owners.py).
    known = KnownOwners()
    people = Customers(repo, events, settings, known)
    rules = Rules(Windows(same_topic=dt.timedelta(hours=settings.same_topic_window_hours),
                          follow_up=dt.timedelta(hours=settings.follow_up_window_hours),
                          follow_up_link=dt.timedelta(days=settings.follow_up_link_days)),
                  policy, settings.default_region)
    ingestion = Ingestion(repo, events, runtime.transactions, rules, known)
    watch = TicketWatch(ticket_feed(runtime.bus))
    tickets_pb2_grpc.add_TicketServiceServicer_to_server(
        TicketServicer(desk, people, watch, runtime.page_tokens), server)

    consumers = TicketConsumers(ingestion, desk)
    runtime.consumer("sessions", consumers.on_interaction, event_types=INTERACTION_EVENTS,
                     batch_handler=consumers.on_interactions, batch=settings.ingest_batch,
                     key=customer_keys(settings.default_region))
    runtime.consumer("routing", consumers.on_work_event, event_types=ROUTING_EVENTS)
    # Its own durable: one consumer per filter (the threading consumer above takes interactions).
    runtime.consumer("sessions", consumers.on_survey_answered, event_types=SURVEY_EVENTS, name="tickets-surveys")
    runtime.background(SlaWatch(repo, events).run(settings.sla_check_seconds), name="sla")
    return [tickets_pb2.DESCRIPTOR.services_by_name["TicketService"].full_name]


def _rules() -> dict[str, frozenset[Role]]:
    table = {
        "GetTicket": STAFF, "ListTickets": STAFF, "CreateTicket": STAFF, "UpdateTicket": STAFF, "AddNote": STAFF,
        "AssignTicket": STAFF, "MergeTickets": STAFF, "SplitTicket": STAFF, "WatchTickets": STAFF,
        "GetCustomer": STAFF, "ListCustomers": STAFF, "CreateCustomer": STAFF, "UpdateCustomer": STAFF,
        "LookupCustomer": STAFF, "AddIdentity": STAFF, "GetCustomerContext": STAFF,
        # Merging customers rewrites identity ownership: a supervisor's decision.
        "MergeCustomers": MANAGERS,
    }
    return {f"/omnichannel.tickets.v1.TicketService/{method}": roles for method, roles in table.items()}


ACCESS = _rules()
SPEC = ServiceSpec(name="tickets", register=register, access_rules=ACCESS, indexes=repository.INDEXES)
