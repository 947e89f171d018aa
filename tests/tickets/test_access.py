"""Who may do what on TicketService: a token on every call, agents held to their groups."""

from __future__ import annotations

from typing import Any

import grpc
import pytest

from omni.runtime.auth import Role
from omni.tickets.service import ACCESS
from omnichannel.common.v1 import common_pb2
from omnichannel.tickets.v1 import tickets_pb2 as pb
from tests.rpc_access import assert_every_rpc_needs_a_token, assert_table_matches_protos
from tests.tickets.conftest import Harness, at, interaction, phone


async def code_of(call: Any) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await call
    return failure.value.code(), failure.value.details() or ""


async def test_every_rpc_has_a_rule_and_needs_a_token(harness: Harness) -> None:
    assert_table_matches_protos(ACCESS, pb.DESCRIPTOR)
    await assert_every_rpc_needs_a_token(harness.host.address, pb.DESCRIPTOR)


async def test_a_ticket_of_another_group_is_not_listed_when_it_has_no_queue(harness: Harness, token_for: Any) -> None:
    stub, md = harness.stub, harness.metadata
    customer = await stub.CreateCustomer(pb.CreateCustomerRequest(customer=pb.Customer(display_name="Zhao")),
                                         metadata=md)
    await stub.CreateTicket(pb.CreateTicketRequest(ticket=pb.Ticket(
        customer_id=customer.id, subject="About agent Wang", group="complaints")), metadata=md)
    unsorted = await stub.CreateTicket(pb.CreateTicketRequest(ticket=pb.Ticket(
        customer_id=customer.id, subject="Unsorted")), metadata=md)
    agent = token_for(Role.AGENT, "A-1", groups=("billing",))
    listed = await stub.ListTickets(pb.ListTicketsRequest(), metadata=agent)
    assert [t.id for t in listed.tickets] == [unsorted.id]


async def test_customer_context_shows_an_agent_only_the_interactions_of_their_groups(
        harness: Harness, token_for: Any) -> None:
    caller = phone("+86 138 0013 8101")
    billing = await harness.thread(interaction(common_pb2.CHANNEL_PHONE, at(0), caller, queue="billing",
                                               text="I was charged twice"))
    complaint = await harness.thread(interaction(common_pb2.CHANNEL_PHONE, at(1), caller, queue="complaints",
                                                 text="Agent Wang was rude to me"))
    assert billing.customer_id == complaint.customer_id and billing.ticket_id != complaint.ticket_id
    agent = token_for(Role.AGENT, "A-1", groups=("billing",))
    seen = await harness.stub.GetCustomerContext(pb.GetCustomerContextRequest(customer_id=billing.customer_id),
                                                 metadata=agent)
    assert [t.id for t in seen.open_tickets] == [billing.ticket_id]
    assert [i.text for i in seen.recent_interactions] == ["I was charged twice"]
    everything = await harness.stub.GetCustomerContext(pb.GetCustomerContextRequest(
        customer_id=billing.customer_id), metadata=harness.metadata)
    assert len(everything.recent_interactions) == 2


async def test_customer_history_pages_beyond_the_first_screen_within_the_agents_groups(
        harness: Harness, token_for: Any) -> None:
    caller = phone("+86 138 0013 8102")
    # Two interactions at the same instant: a page may end between them.
    for minute, queue, text in [(0, "billing", "b0"), (1, "complaints", "c1"), (2, "billing", "b2"),
                                (2, "billing", "b2'"), (3, "complaints", "c3"), (4, "billing", "b4")]:
        threaded = await harness.thread(interaction(common_pb2.CHANNEL_PHONE, at(minute), caller, queue=queue,
                                                    text=text))

    async def pages(metadata: Any) -> list[list[str]]:
        seen: list[list[str]] = []
        token = ""
        while True:
            screen = await harness.stub.GetCustomerContext(pb.GetCustomerContextRequest(
                identity=caller, interaction_limit=2, page_token=token), metadata=metadata)
            seen.append([i.text for i in screen.recent_interactions])
            token = screen.next_page_token
            if not token:
                return seen

    everything = await pages(harness.metadata)
    assert [t for page in everything for t in page][:2] == ["b4", "c3"]
    assert sorted(t for page in everything for t in page) == sorted(["b0", "c1", "b2", "b2'", "c3", "b4"])
    assert [len(page) for page in everything] == [2, 2, 2]
    agent = token_for(Role.AGENT, "A-1", groups=("billing",))
    theirs = [t for page in await pages(agent) for t in page]
    assert theirs[0] == "b4" and sorted(theirs) == ["b0", "b2", "b2'", "b4"]
    # A token is bound to the customer it came from.
    first = await harness.stub.GetCustomerContext(pb.GetCustomerContextRequest(
        identity=caller, interaction_limit=2), metadata=harness.metadata)
    code, message = await code_of(harness.stub.GetCustomerContext(pb.GetCustomerContextRequest(
        customer_id=threaded.customer_id, interaction_limit=2, page_token=first.next_page_token),
        metadata=harness.metadata))
    assert code is grpc.StatusCode.INVALID_ARGUMENT and "page_token" in message


async def test_an_agent_moves_a_ticket_only_into_their_own_groups(harness: Harness, token_for: Any) -> None:
    stub, md = harness.stub, harness.metadata
    customer = await stub.CreateCustomer(pb.CreateCustomerRequest(customer=pb.Customer(display_name="Qian")),
                                         metadata=md)
    ticket = await stub.CreateTicket(pb.CreateTicketRequest(ticket=pb.Ticket(
        customer_id=customer.id, subject="Invoice", queue="billing")), metadata=md)
    agent = token_for(Role.AGENT, "A-1", groups=("billing", "sales"))

    async def update(queue: str, group: str) -> pb.Ticket:
        change = pb.Ticket(id=ticket.id, queue=queue, group=group, version=ticket.version)
        return await stub.UpdateTicket(pb.UpdateTicketRequest(ticket=change, update_mask={"paths": ["queue", "group"]}),
                                       metadata=agent)

    code, message = await code_of(update("complaints", "complaints"))
    assert code == grpc.StatusCode.PERMISSION_DENIED and "complaints" in message
    code, message = await code_of(update("", ""))  # would show it to every agent of every group
    assert code == grpc.StatusCode.PERMISSION_DENIED and "every group" in message
    moved = await update("sales", "sales")
    assert (moved.queue, moved.group) == ("sales", "sales")


async def test_an_agent_cannot_touch_a_ticket_of_another_group(harness: Harness, token_for: Any) -> None:
    stub, md = harness.stub, harness.metadata
    customer = await stub.CreateCustomer(pb.CreateCustomerRequest(customer=pb.Customer(display_name="Sun")),
                                         metadata=md)
    theirs, ours = [await stub.CreateTicket(pb.CreateTicketRequest(ticket=pb.Ticket(
        customer_id=customer.id, subject=queue, queue=queue)), metadata=md) for queue in ("complaints", "billing")]
    agent = token_for(Role.AGENT, "A-1", groups=("billing",))
    calls = [
        stub.UpdateTicket(pb.UpdateTicketRequest(ticket=pb.Ticket(id=theirs.id, subject="x", version=theirs.version),
                                                 update_mask={"paths": ["subject"]}), metadata=agent),
        stub.AssignTicket(pb.AssignTicketRequest(ticket_id=theirs.id, assignee_id="A-1"), metadata=agent),
        stub.AssignTicket(pb.AssignTicketRequest(ticket_id=ours.id, group="complaints"), metadata=agent),
        stub.AddNote(pb.AddNoteRequest(ticket_id=theirs.id, text="n"), metadata=agent),
        stub.MergeTickets(pb.MergeTicketsRequest(source_ticket_id=theirs.id, target_ticket_id=ours.id), metadata=agent),
        stub.MergeTickets(pb.MergeTicketsRequest(source_ticket_id=ours.id, target_ticket_id=theirs.id), metadata=agent),
        stub.SplitTicket(pb.SplitTicketRequest(ticket_id=theirs.id, interaction_ids=["I-1"]), metadata=agent),
    ]
    for call in calls:
        assert (await code_of(call))[0] == grpc.StatusCode.PERMISSION_DENIED
    listed = await stub.ListTickets(pb.ListTicketsRequest(queue="complaints"), metadata=agent)
    assert list(listed.tickets) == []
