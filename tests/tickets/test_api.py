"""The gRPC API: merges, assignment from routing, access rules, bad input, SLA breaches."""

from __future__ import annotations

import asyncio
from typing import Any

import grpc
import pytest

from omni.devstack.demo import tickets as demo
from omni.devstack.processes import ManagedProcess
from omni.runtime.auth import Role
from omni.runtime.config import ServiceSettings
from omnichannel.common.v1 import common_pb2
from omnichannel.routing.v1 import events_pb2 as routing_events
from omnichannel.routing.v1 import routing_pb2
from omnichannel.sessions.v1 import events_pb2 as sessions_events
from omnichannel.sessions.v1 import sessions_pb2
from omnichannel.tickets.v1 import events_pb2
from omnichannel.tickets.v1 import tickets_pb2 as pb
from tests.conftest import StartService
from tests.support.polling import eventually
from tests.tickets.conftest import Harness, at, email_id, interaction, make_harness, phone

PHONE, EMAIL = common_pb2.CHANNEL_PHONE, common_pb2.CHANNEL_EMAIL


async def code_of(call: Any) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await call
    return failure.value.code(), failure.value.details() or ""


async def test_merge_customers_and_tickets_keeps_everything_and_old_ids_resolve(harness: Harness) -> None:
    a = await harness.thread(interaction(PHONE, at(0), phone("+86 138 0013 8000")))
    b = await harness.thread(interaction(EMAIL, at(5), email_id("li@example.cn"),
                                         email=common_pb2.EmailHeaders(subject="Bill", message_id="<l1@x>")))
    assert a.customer_id != b.customer_id
    stub, md = harness.stub, harness.metadata
    merged = await stub.MergeCustomers(pb.MergeCustomersRequest(source_customer_id=b.customer_id,
                                                                target_customer_id=a.customer_id), metadata=md)
    assert {i.value for i in merged.identities} == {"+8613800138000", "li@example.cn"}
    old = await stub.GetCustomer(pb.GetCustomerRequest(id=b.customer_id), metadata=md)
    assert old.id == a.customer_id
    by_mail = await stub.LookupCustomer(pb.LookupCustomerRequest(identity=email_id("LI@example.cn")), metadata=md)
    assert by_mail.id == a.customer_id

    target = await stub.MergeTickets(pb.MergeTicketsRequest(source_ticket_id=b.ticket_id,
                                                            target_ticket_id=a.ticket_id), metadata=md)
    assert target.interaction_count == 2
    target = await stub.GetTicket(pb.GetTicketRequest(id=a.ticket_id), metadata=md)
    assert [i.id for i in target.interactions] == [a.interaction_id, b.interaction_id]
    source = await stub.GetTicket(pb.GetTicketRequest(id=b.ticket_id), metadata=md)
    assert source.status == pb.TICKET_STATUS_CLOSED
    assert [(link.kind, link.ticket_id) for link in source.links] == [(pb.TICKET_LINK_KIND_MERGED_INTO, a.ticket_id)]
    # A reply to the merged-away ticket's email lands on the ticket it was merged into.
    reply = await harness.thread(interaction(EMAIL, at(9), email_id("li@example.cn"), queue="x",
                                             email=common_pb2.EmailHeaders(subject="re", in_reply_to="<l1@x>")))
    assert reply.ticket_id == a.ticket_id and not reply.third_party

    [customers] = await harness.published.wait("customer_merged", events_pb2.CustomerMerged)
    assert (customers.source_customer_id, customers.target.id) == (b.customer_id, a.customer_id)
    [payload] = await harness.published.wait("ticket_merged", events_pb2.TicketEvent)
    assert payload.merged_ticket_id == b.ticket_id and payload.ticket.id == a.ticket_id
    context = await stub.GetCustomerContext(pb.GetCustomerContextRequest(customer_id=b.customer_id), metadata=md)
    assert context.customer.id == a.customer_id and len(context.recent_interactions) == 3
    # The screen pop by the merged-away customer's address, whose owner the service remembers
    # from threading it before the merge, is the merge target's, with the whole history.
    popped = await stub.GetCustomerContext(pb.GetCustomerContextRequest(identity=email_id("li@example.cn")),
                                           metadata=md)
    assert popped.customer.id == a.customer_id and len(popped.recent_interactions) == 3
    # A new mail from the merged-away customer's address (whose owner ingestion remembers from
    # before the merge) is the merge target's, and nobody is told of an identity conflict.
    again = await harness.thread(interaction(EMAIL, at(12), email_id("li@example.cn"),
                                             email=common_pb2.EmailHeaders(subject="Another bill")))
    assert again.customer_id == a.customer_id and not again.third_party
    assert not (await stub.GetCustomer(pb.GetCustomerRequest(id=a.customer_id), metadata=md)).identity_conflicts


async def test_conflicting_identity_is_reported_not_overwritten(harness: Harness) -> None:
    a = await harness.thread(interaction(PHONE, at(0), phone("+86 138 0013 8001")))
    b = await harness.thread(interaction(EMAIL, at(1), email_id("x@example.cn"), email=common_pb2.EmailHeaders()))
    code, message = await code_of(harness.stub.AddIdentity(
        pb.AddIdentityRequest(customer_id=b.customer_id, identity=phone("13800138001")), metadata=harness.metadata))
    assert code == grpc.StatusCode.ALREADY_EXISTS and a.customer_id in message and "merge" in message
    both = await harness.thread(interaction(EMAIL, at(2), phone("+8613800138001"), email_id("x@example.cn"),
                                            email=common_pb2.EmailHeaders()))
    assert both.customer_id == a.customer_id
    owner = await harness.stub.GetCustomer(pb.GetCustomerRequest(id=a.customer_id), metadata=harness.metadata)
    assert [(c.identity.value, c.owner_customer_id) for c in owner.identity_conflicts] == [
        ("x@example.cn", b.customer_id)]


async def test_work_assigned_assigns_the_sessions_ticket_and_sets_last_agent(harness: Harness) -> None:
    call = interaction(PHONE, at(0), phone("+86 138 0013 8002"), session="S-call-1")
    threaded = await harness.thread(call)
    work = routing_pb2.WorkItem(id="S-call-1", session_id="S-call-1")
    await harness.bus.publish("routing", "work_assigned", "work/S-call-1",
                              routing_events.WorkEvent(work=work, agent_id="A-42"), event_id="w1")
    ticket = await eventually(
        lambda: harness.stub.GetTicket(pb.GetTicketRequest(id=threaded.ticket_id), metadata=harness.metadata),
        lambda t: t.assignee_id, what=f"ticket {threaded.ticket_id} assigned on work_assigned")
    assert ticket.assignee_id == "A-42"
    context = await harness.stub.GetCustomerContext(pb.GetCustomerContextRequest(customer_id=threaded.customer_id),
                                                    metadata=harness.metadata)
    assert context.last_agent_id == "A-42"
    # Later messages of the same session join the same ticket whatever their topic.
    again = await harness.thread(interaction(PHONE, at(3), phone("+86 138 0013 8002"), session="S-call-1",
                                             queue="other"))
    assert again.ticket_id == threaded.ticket_id


async def test_a_customers_survey_answer_rates_the_ticket_once_however_often_delivered(harness: Harness) -> None:
    threaded = await harness.thread(interaction(PHONE, at(0), phone("+86 138 0013 8009"), session="S-rated"))
    answered = sessions_events.SurveyAnswered(survey=sessions_pb2.Survey(
        session_id="S-rated", csat=4, agent_id="A-42", ticket_id=threaded.ticket_id))
    for _ in range(2):  # a redelivery
        await harness.bus.publish("sessions", "survey_answered", "sessions/S-rated", answered, event_id="s-rated:1")
    ticket = await eventually(
        lambda: harness.stub.GetTicket(pb.GetTicketRequest(id=threaded.ticket_id), metadata=harness.metadata),
        lambda t: t.csat, what="the ticket rated")
    assert ticket.csat == 4


async def test_an_assignment_from_a_former_routing_owner_published_late_changes_nothing(harness: Harness) -> None:
    first = await harness.thread(interaction(PHONE, at(0), phone("+86 138 0013 8012"), session="S-fence-1"))
    second = await harness.thread(interaction(PHONE, at(0), phone("+86 138 0013 8013"), session="S-fence-2"))

    async def assigned(session_id: str, agent_id: str, epoch: int) -> None:
        work = routing_pb2.WorkItem(id=session_id, session_id=session_id)
        await harness.bus.publish("routing", "work_assigned", f"work/{session_id}", routing_events.WorkEvent(
            work=work, agent_id=agent_id, partition="g:billing", epoch=epoch), event_id=f"{session_id}:{epoch}")

    async def assignee(ticket_id: str, agent_id: str) -> pb.Ticket:
        return await eventually(
            lambda: harness.stub.GetTicket(pb.GetTicketRequest(id=ticket_id), metadata=harness.metadata),
            lambda t: t.assignee_id == agent_id, what=f"ticket {ticket_id} assigned to {agent_id}")

    await assigned("S-fence-1", "A-42", 7)
    await assignee(first.ticket_id, "A-42")
    # The replica that owned the partition before (epoch 3) publishes its assignment late; an
    # assignment of the current owner made after it shows that it was consumed.
    await assigned("S-fence-1", "A-41", 3)
    await assigned("S-fence-2", "A-43", 7)
    await assignee(second.ticket_id, "A-43")
    assert (await assignee(first.ticket_id, "A-42")).assignee_id == "A-42"
    context = await harness.stub.GetCustomerContext(pb.GetCustomerContextRequest(customer_id=first.customer_id),
                                                    metadata=harness.metadata)
    assert context.last_agent_id == "A-42"


async def test_agents_see_only_their_groups(harness: Harness, token_for: Any) -> None:
    billing = await harness.thread(interaction(PHONE, at(0), phone("+86 138 0013 8003"), queue="billing"))
    await harness.thread(interaction(PHONE, at(0), phone("+86 138 0013 8004"), queue="vip"))
    agent = token_for(Role.AGENT, "A-1", groups=("billing",))
    listed = await harness.stub.ListTickets(pb.ListTicketsRequest(), metadata=agent)
    assert [t.queue for t in listed.tickets] == ["billing"]
    all_ = await harness.stub.ListTickets(pb.ListTicketsRequest(), metadata=harness.metadata)
    assert len(all_.tickets) == 2
    vip_id = next(t.id for t in all_.tickets if t.queue == "vip")
    code, message = await code_of(harness.stub.GetTicket(pb.GetTicketRequest(id=vip_id), metadata=agent))
    assert code == grpc.StatusCode.PERMISSION_DENIED and "billing" in message
    assert (await harness.stub.GetTicket(pb.GetTicketRequest(id=billing.ticket_id), metadata=agent)).queue == "billing"
    customer = token_for(Role.CUSTOMER, "c", session_id="S-1")
    code, _ = await code_of(harness.stub.ListTickets(pb.ListTicketsRequest(), metadata=customer))
    assert code == grpc.StatusCode.PERMISSION_DENIED
    code, _ = await code_of(harness.stub.MergeCustomers(pb.MergeCustomersRequest(source_customer_id="C-1",
                                                                                 target_customer_id="C-2"),
                                                        metadata=agent))
    assert code == grpc.StatusCode.PERMISSION_DENIED


async def test_invalid_input_gets_the_right_codes(harness: Harness) -> None:
    stub, md = harness.stub, harness.metadata
    code, message = await code_of(stub.CreateCustomer(pb.CreateCustomerRequest(
        customer=pb.Customer(display_name="X", identities=[phone("12")])), metadata=md))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and "'12'" in message and "international" in message
    code, message = await code_of(stub.GetTicket(pb.GetTicketRequest(id="T-9999"), metadata=md))
    assert code == grpc.StatusCode.NOT_FOUND and "T-9999" in message
    code, _ = await code_of(stub.GetCustomer(pb.GetCustomerRequest(id="C-nope"), metadata=md))
    assert code == grpc.StatusCode.NOT_FOUND

    customer = await stub.CreateCustomer(pb.CreateCustomerRequest(customer=pb.Customer(
        display_name="Zhang", identities=[phone("+86 138 0013 8005")])), metadata=md)
    ticket = await stub.CreateTicket(pb.CreateTicketRequest(
        ticket=pb.Ticket(customer_id=customer.id, subject="Manual", queue="billing"), request_id="r1"), metadata=md)
    again = await stub.CreateTicket(pb.CreateTicketRequest(
        ticket=pb.Ticket(customer_id=customer.id, subject="Manual", queue="billing"), request_id="r1"), metadata=md)
    assert again.id == ticket.id

    ticket.status = pb.TICKET_STATUS_CLOSED
    closed = await stub.UpdateTicket(pb.UpdateTicketRequest(ticket=ticket, update_mask={"paths": ["status"]}),
                                     metadata=md)
    closed.status = pb.TICKET_STATUS_OPEN
    code, message = await code_of(stub.UpdateTicket(pb.UpdateTicketRequest(ticket=closed,
                                                                           update_mask={"paths": ["status"]}),
                                                    metadata=md))
    assert code == grpc.StatusCode.FAILED_PRECONDITION and "closed" in message

    code, message = await code_of(stub.UpdateTicket(pb.UpdateTicketRequest(ticket=ticket,
                                                                           update_mask={"paths": ["subject"]}),
                                                    metadata=md))
    assert code == grpc.StatusCode.ABORTED and "reload" in message
    closed.subject = "x" * 501
    code, message = await code_of(stub.UpdateTicket(pb.UpdateTicketRequest(ticket=closed,
                                                                           update_mask={"paths": ["subject"]}),
                                                    metadata=md))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and "limit is 500" in message
    code, message = await code_of(stub.UpdateTicket(pb.UpdateTicketRequest(ticket=closed,
                                                                           update_mask={"paths": ["customer_id"]}),
                                                    metadata=md))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and "updatable" in message
    code, _ = await code_of(stub.AddNote(pb.AddNoteRequest(ticket_id=ticket.id, text="n" * 10_001), metadata=md))
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    code, _ = await code_of(stub.ListTickets(pb.ListTicketsRequest(page_size=-1), metadata=md))
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    code, _ = await code_of(stub.ListTickets(pb.ListTicketsRequest(order_by="color"), metadata=md))
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    code, _ = await code_of(stub.MergeTickets(pb.MergeTicketsRequest(source_ticket_id=ticket.id,
                                                                     target_ticket_id=ticket.id), metadata=md))
    assert code == grpc.StatusCode.INVALID_ARGUMENT


async def test_sla_breach_is_published_once(start_service: StartService, settings: ServiceSettings,
                                            nats: ManagedProcess, authority: Any) -> None:
    harness = await make_harness(start_service, settings, nats, authority, sla_check_seconds=0.2,
                                 sla_first_response_minutes=("low=0.01", "normal=0.01", "high=0.01", "urgent=0.01"))
    try:
        created = await harness.stub.CreateCustomer(pb.CreateCustomerRequest(customer=pb.Customer(
            display_name="Wang")), metadata=harness.metadata)

        async def breached(subject: str) -> pb.Ticket:
            """A new ticket, once its first-response breach is announced."""
            ticket = await harness.stub.CreateTicket(pb.CreateTicketRequest(ticket=pb.Ticket(
                customer_id=created.id, subject=subject)), metadata=harness.metadata)
            await harness.published.wait("sla_breached", events_pb2.TicketEvent, lambda e: e.ticket.id == ticket.id)
            return ticket

        ticket = await breached("Slow")
        # Two more tickets, each opened after the previous breach was announced. The pass that
        # announces the second starts after the first was flagged; the pass that announces the
        # third starts after that one ended. So that whole pass, which would have announced the
        # first ticket again, has published everything before the third breach is here.
        later = [await breached("Slower"), await breached("Slowest")]
        breaches = harness.published.of("sla_breached")
        assert [e.subject for e in breaches] == [f"tickets/{t.id}" for t in (ticket, *later)]
        stored = await harness.stub.GetTicket(pb.GetTicketRequest(id=ticket.id), metadata=harness.metadata)
        assert stored.sla.first_response_breached and not stored.sla.resolution_breached
    finally:
        await harness.close()


async def test_watch_streams_changes_of_the_callers_groups(harness: Harness, token_for: Any) -> None:
    agent = token_for(Role.AGENT, "A-1", groups=("billing",))
    call = harness.stub.WatchTickets(pb.WatchTicketsRequest(), metadata=agent)
    # The first frame says the subscription is live: nothing published from now on is missed.
    ready = await asyncio.wait_for(call.read(), 10)
    assert ready.change == "watching" and not ready.HasField("ticket")
    await harness.thread(interaction(PHONE, at(0), phone("+86 138 0013 8006"), queue="vip"))
    billing = await harness.thread(interaction(PHONE, at(0), phone("+86 138 0013 8007"), queue="billing"))
    change = await asyncio.wait_for(call.read(), 10)
    assert change.change == "created" and change.ticket.id == billing.ticket_id
    call.cancel()




async def test_demo_seed_is_idempotent(harness: Harness, authority: Any) -> None:
    token = authority.mint("devstack", Role.SERVICE)
    await demo.seed(harness.host.address, token)
    await demo.seed(harness.host.address, token)
    vip = await harness.stub.LookupCustomer(pb.LookupCustomerRequest(identity=phone("13800138000")),
                                            metadata=harness.metadata)
    assert vip.tier == "vip" and {i.value for i in vip.identities} == {"+8613800138000", "li.wei@example.cn"}
    listed = await harness.stub.ListCustomers(pb.ListCustomersRequest(), metadata=harness.metadata)
    assert len(listed.customers) == len(demo.DEMO_CUSTOMERS)
