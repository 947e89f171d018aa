"""The issue's "must show" list for threading, against real NATS and the MongoDB-protocol server."""

from __future__ import annotations

import random

import pytest

from omnichannel.common.v1 import common_pb2
from omnichannel.sessions.v1.events_pb2 import InteractionReceived
from omnichannel.tickets.v1 import tickets_pb2 as pb
from tests.tickets.conftest import Harness, at, email_id, handle, interaction, phone

PHONE, CHAT, EMAIL = common_pb2.CHANNEL_PHONE, common_pb2.CHANNEL_CHAT, common_pb2.CHANNEL_EMAIL


def mail(subject: str, message_id: str = "", in_reply_to: str = "", **flags: bool) -> common_pb2.EmailHeaders:
    return common_pb2.EmailHeaders(subject=subject, message_id=message_id, in_reply_to=in_reply_to, **flags)


async def test_call_chat_email_make_one_customer_one_ticket_in_time_order(harness: Harness) -> None:
    call = interaction(PHONE, at(0), phone("+86 138 0013 8000"), text="my bill is wrong")
    # The chat presents the number because the customer's identity token signed it: sessions
    # publishes no typed identity (tests/sessions/test_chat_identity.py).
    chat = interaction(CHAT, at(30), handle("wx-li"), phone("13800138000"))
    first = await harness.thread(call)
    assert first.created_ticket
    await harness.thread(chat)
    # The email address is linked to the customer by hand, as an agent would after the chat.
    await harness.stub.AddIdentity(pb.AddIdentityRequest(customer_id=first.customer_id,
                                                         identity=email_id("Li.Wei@Example.CN")),
                                   metadata=harness.metadata)
    # An email is one matter with the call when it names the ticket (an unreferenced mail is a new
    # matter: test_new_email_is_a_new_matter_even_with_an_open_ticket).
    letter = interaction(EMAIL, at(60), email_id("li.wei@example.cn"),
                         email=mail(f"Bill again [#{first.ticket_id}]", "<m1@example.cn>"))
    last = await harness.thread(letter)
    assert (last.customer_id, last.ticket_id) == (first.customer_id, first.ticket_id)

    ticket = await harness.stub.GetTicket(pb.GetTicketRequest(id=first.ticket_id), metadata=harness.metadata)
    assert [i.id for i in ticket.interactions] == [call.id, chat.id, letter.id]
    assert ticket.interaction_count == 3 and ticket.origin_channel == PHONE

    context = await harness.stub.GetCustomerContext(
        pb.GetCustomerContextRequest(identity=phone("+8613800138000")), metadata=harness.metadata)
    assert context.customer.id == first.customer_id
    assert {(i.kind, i.value) for i in context.customer.identities} == {
        (common_pb2.IDENTITY_KIND_PHONE, "+8613800138000"), (common_pb2.IDENTITY_KIND_CHAT_HANDLE, "wx-li"),
        (common_pb2.IDENTITY_KIND_EMAIL, "li.wei@example.cn")}
    assert [t.id for t in context.open_tickets] == [first.ticket_id]
    assert [i.id for i in context.recent_interactions] == [letter.id, chat.id, call.id]
    assert context.total_tickets == 1


async def test_email_threads_by_in_reply_to_then_token_and_other_topic_opens_second(harness: Harness) -> None:
    who = email_id("anna@example.com")
    opened = await harness.thread(interaction(EMAIL, at(0), who, email=mail("Refund", "<c1@example.com>")))
    reply = interaction(EMAIL, at(10), who, queue="billing", direction=common_pb2.DIRECTION_OUTBOUND,
                        ticket_id=opened.ticket_id, agent_id="A-7",
                        email=mail(f"Re: Refund [#{opened.ticket_id}]", "<agent-1@support.example.com>"))
    await harness.thread(reply)
    answer = interaction(EMAIL, at(20), who, queue="",
                         email=mail("totally different words", "<c2@example.com>", "<agent-1@support.example.com>"))
    assert (await harness.thread(answer)).ticket_id == opened.ticket_id
    tokened = interaction(EMAIL, at(30), who, queue="", email=mail(f"Fwd: [#{opened.ticket_id}] more", "<c3@x>"))
    assert (await harness.thread(tokened)).ticket_id == opened.ticket_id
    other = await harness.thread(interaction(EMAIL, at(40), who, queue="delivery", email=mail("Parcel lost")))
    assert other.created_ticket and other.ticket_id != opened.ticket_id

    ticket = await harness.stub.GetTicket(pb.GetTicketRequest(id=opened.ticket_id), metadata=harness.metadata)
    assert ticket.sla.HasField("first_response_time") and ticket.assignee_id == "A-7"
    assert ticket.status == pb.TICKET_STATUS_OPEN


async def _close(harness: Harness, ticket_id: str) -> pb.Ticket:
    ticket = await harness.stub.GetTicket(pb.GetTicketRequest(id=ticket_id), metadata=harness.metadata)
    ticket.status = pb.TICKET_STATUS_CLOSED
    return await harness.stub.UpdateTicket(pb.UpdateTicketRequest(ticket=ticket, update_mask={"paths": ["status"]}),
                                           metadata=harness.metadata)


async def test_reply_to_closed_ticket_reopens_inside_window_else_follow_up(harness: Harness) -> None:
    who = email_id("bo@example.com")
    first = await harness.thread(interaction(EMAIL, at(0), who, email=mail("Invoice", "<b1@x>")))
    await _close(harness, first.ticket_id)
    soon = await harness.thread(interaction(EMAIL, at(60), who, email=mail("Re: Invoice", "<b2@x>", "<b1@x>")))
    assert soon.ticket_id == first.ticket_id and not soon.created_ticket
    ticket = await harness.stub.GetTicket(pb.GetTicketRequest(id=first.ticket_id), metadata=harness.metadata)
    assert ticket.status == pb.TICKET_STATUS_OPEN and ticket.reopen_count == 1

    await _close(harness, first.ticket_id)
    # 168 h is the default follow-up window; the close happened now, so 200 days later is outside.
    late = interaction(EMAIL, at(0), who, email=mail("Re: Invoice", "<b3@x>", "<b2@x>"))
    late.occurred_at.GetCurrentTime()
    late.occurred_at.seconds += 200 * 86400
    later = await harness.thread(late)
    assert later.created_ticket and later.ticket_id != first.ticket_id
    follow_up = await harness.stub.GetTicket(pb.GetTicketRequest(id=later.ticket_id), metadata=harness.metadata)
    assert [(link.kind, link.ticket_id) for link in follow_up.links] == [
        (pb.TICKET_LINK_KIND_FOLLOW_UP_OF, first.ticket_id)]


async def test_auto_reply_is_recorded_but_never_reopens(harness: Harness) -> None:
    who = email_id("cy@example.com")
    first = await harness.thread(interaction(EMAIL, at(0), who, email=mail("Help", "<y1@x>")))
    await _close(harness, first.ticket_id)
    bounce = await harness.thread(interaction(EMAIL, at(5), who, email=mail("Out of office", "<y2@x>", "<y1@x>",
                                                                            auto_submitted=True)))
    assert bounce.ticket_id == first.ticket_id and not bounce.created_ticket
    ticket = await harness.stub.GetTicket(pb.GetTicketRequest(id=first.ticket_id), metadata=harness.metadata)
    assert ticket.status == pb.TICKET_STATUS_CLOSED and ticket.interaction_count == 2
    stray = await harness.thread(interaction(EMAIL, at(5), who, queue="other",
                                             email=mail("Undeliverable", "<y3@x>", delivery_status_report=True)))
    assert stray.ticket_id == "" and not stray.created_ticket


async def test_same_event_three_times_changes_nothing_twice(harness: Harness) -> None:
    call = interaction(PHONE, at(0), phone("+44 20 7946 0958"))
    for _ in range(3):
        # Different event ids (no server-side dedup): only our idempotency on the interaction id holds.
        await harness.bus.publish("sessions", "interaction_received", "s", _received(call))
    threaded = await harness.threaded(call.id)
    await harness.thread(interaction(PHONE, at(1), phone("+442079460958")))  # a later event, processed after
    ticket = await harness.stub.GetTicket(pb.GetTicketRequest(id=threaded.ticket_id), metadata=harness.metadata)
    assert [i.id for i in ticket.interactions].count(call.id) == 1 and ticket.interaction_count == 2
    # Redeliveries re-announce under the same event id (JetStream drops the copies): one creation.
    assert {e.id for e in harness.published.of("ticket_created")} == {f"{threaded.ticket_id}:created"}


def _received(msg: common_pb2.Interaction) -> InteractionReceived:
    return InteractionReceived(interaction=msg)


@pytest.mark.slow
async def test_500_shuffled_interactions_for_50_customers(harness: Harness) -> None:
    """Each customer: 10 contacts over phone/chat on two topics → two tickets, timelines in time order.
    (An email that references nothing is a new matter, not a same-topic join: tests/tickets/test_mail_identity.py.)"""
    rng = random.Random(7)
    plan: list[common_pb2.Interaction] = []
    for c in range(50):
        number = f"+86 139 {c:04d} {c:04d}"
        for k in range(10):
            # Topics alternate with k; channels with k // 2, so each topic has calls and chats.
            plan.append(interaction((PHONE, CHAT)[(k // 2) % 2], at(c + k * 7), phone(number),
                                    queue=("billing", "delivery")[k % 2]))
    rng.shuffle(plan)
    for msg in plan:
        await harness.send(msg)
    for msg in plan:
        await harness.threaded(msg.id, within=240)
    tickets: list[pb.Ticket] = []
    token = ""
    while True:
        page = await harness.stub.ListTickets(pb.ListTicketsRequest(page_size=40, page_token=token),
                                              metadata=harness.metadata)
        tickets.extend(page.tickets)
        if not (token := page.next_page_token):
            break
    assert len(tickets) == 100 and len({t.customer_id for t in tickets}) == 50
    assert all(t.interaction_count == 5 for t in tickets)
    for ticket in rng.sample(tickets, 5):
        full = await harness.stub.GetTicket(pb.GetTicketRequest(id=ticket.id), metadata=harness.metadata)
        times = [i.occurred_at.ToDatetime() for i in full.interactions]
        assert times == sorted(times) and len(times) == 5
        assert full.origin_channel == PHONE or full.origin_channel == CHAT
