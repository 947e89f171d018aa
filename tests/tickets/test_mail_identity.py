"""Email threading and identity rules (docs/tickets.md, "Identity rules"): pure rules first, then
the same rules on the running service with real NATS and the MongoDB-protocol server."""

from __future__ import annotations

import datetime as dt

import pytest

from omni.runtime.channels import Channel
from omni.tickets.domain.identities import Identity, Kind
from omni.tickets.domain.lifecycle import Status
from omni.tickets.domain.model import Bounce, Email, Interaction
from omni.tickets.domain.senders import MAX_PARTICIPANTS, Sender, join_as_participant, standing
from omni.tickets.domain.threading import Candidate, Windows, contact, decide, replied_to
from omnichannel.common.v1 import common_pb2
from omnichannel.tickets.v1 import events_pb2
from omnichannel.tickets.v1 import tickets_pb2 as pb
from tests.tickets.conftest import Harness, at, email_id, interaction

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
WINDOWS = Windows(same_topic=dt.timedelta(hours=72), follow_up=dt.timedelta(hours=168))
LI = Identity(Kind.EMAIL, "li@x.cn")
EMAIL = common_pb2.CHANNEL_EMAIL


def test_threaded_mail_keeps_the_tickets_customer_and_a_stranger_is_a_third_party() -> None:
    assert standing(Sender(LI), thread_customer="C-1", owner="C-1").third_party is False
    stranger = standing(Sender(Identity(Kind.EMAIL, "eve@evil.cn")), thread_customer="C-1", owner="")
    assert (stranger.customer_id, stranger.third_party, stranger.link_identity) == ("C-1", True, False)
    # Another customer's address threading in is a third party too, never moved over.
    other = standing(Sender(LI), thread_customer="C-1", owner="C-2")
    assert (other.customer_id, other.third_party, other.link_identity) == ("C-1", True, False)


def test_unthreaded_mail_automated_and_unverified_senders() -> None:
    assert standing(Sender(LI), thread_customer="", owner="").by_identities
    bounce = standing(Sender(Identity(Kind.EMAIL, "mailer-daemon@mx.cn"), automatic=True), thread_customer="", owner="")
    assert (bounce.customer_id, bounce.new_customer) == ("", False)
    forged = standing(Sender(LI, unverified=True), thread_customer="", owner="")
    assert forged.new_customer and not forged.link_identity and not forged.by_identities
    assert standing(Sender(LI, unverified=True), thread_customer="", owner="C-1").customer_id == "C-1"
    auto = standing(Sender(LI, automatic=True), thread_customer="C-1", owner="")
    assert (auto.customer_id, auto.third_party) == ("C-1", False)


def test_participants_are_capped_and_unique() -> None:
    participants: list[str] = []
    assert join_as_participant(participants, "a@x.cn") and not join_as_participant(participants, "a@x.cn")
    for n in range(MAX_PARTICIPANTS * 2):
        join_as_participant(participants, f"p{n}@x.cn")
    assert len(participants) == MAX_PARTICIPANTS


def test_email_never_joins_by_topic_but_phone_does() -> None:
    open_ticket = Candidate(id="T-1", status=Status.OPEN, topic="billing", first_at=T0, last_at=T0)
    mail = Interaction(id="I-1", raw=b"", channel=Channel.EMAIL, queue="billing")
    call = Interaction(id="I-2", raw=b"", channel=Channel.PHONE, queue="billing")
    assert decide(contact(mail, T0), WINDOWS, same_topic=[open_ticket]).create
    assert decide(contact(call, T0), WINDOWS, same_topic=[open_ticket]).ticket_id == "T-1"


def test_bounce_and_attached_message_ids_are_threading_candidates() -> None:
    mail = Interaction(id="I-1", raw=b"", channel=Channel.EMAIL, email=Email(
        in_reply_to="<a@x>", references=("<r@x>",), report=Bounce(original_message_id="<ours@example.com>"),
        attached_message_ids=("<fwd@x>",)))
    assert replied_to(mail) == ["<a@x>", "<ours@example.com>", "<r@x>", "<fwd@x>"]


def mail(subject: str, message_id: str, sender: str, in_reply_to: str = "",
         **fields: object) -> common_pb2.EmailHeaders:
    return common_pb2.EmailHeaders(subject=subject, message_id=message_id, in_reply_to=in_reply_to, sender=sender,
                                   **fields)  # type: ignore[arg-type]


@pytest.mark.slow
async def test_stranger_with_a_message_id_is_a_participant_and_gets_no_identity(harness: Harness) -> None:
    victim = email_id("anna@x.cn")
    opened = await harness.thread(interaction(EMAIL, at(0), victim, email=mail("Refund", "<c1@x.cn>", "anna@x.cn")))
    # A new unreferenced mail from the same customer is a new matter.
    again = await harness.thread(interaction(EMAIL, at(1), victim, email=mail("Other", "<c2@x.cn>", "anna@x.cn")))
    assert again.created_ticket and again.customer_id == opened.customer_id and again.ticket_id != opened.ticket_id
    # Sessions keeps the thread's customer on the session; the sender is the stranger.
    forged = interaction(EMAIL, at(2), victim,
                         email=mail("Re: Refund", "<e1@evil.cn>", "eve@evil.cn", in_reply_to="<c1@x.cn>"))
    threaded = await harness.thread(forged)
    assert (threaded.ticket_id, threaded.customer_id, threaded.third_party) == \
        (opened.ticket_id, opened.customer_id, True)
    customer = await harness.stub.GetCustomer(pb.GetCustomerRequest(id=opened.customer_id), metadata=harness.metadata)
    assert [i.value for i in customer.identities] == ["anna@x.cn"]
    ticket = await harness.stub.GetTicket(pb.GetTicketRequest(id=opened.ticket_id), metadata=harness.metadata)
    assert list(ticket.participants) == ["eve@evil.cn"]
    assert [i.third_party for i in ticket.interactions] == [False, True]


@pytest.mark.slow
async def test_bounce_flags_our_mail_and_tells_the_agent(harness: Harness) -> None:
    who = email_id("bo@x.cn")
    opened = await harness.thread(interaction(EMAIL, at(0), who, email=mail("Parcel", "<b1@x.cn>", "bo@x.cn")))
    reply = interaction(EMAIL, at(1), who, direction=common_pb2.DIRECTION_OUTBOUND, ticket_id=opened.ticket_id,
                        agent_id="A-1", email=mail("Re: Parcel", "<ours-1@example.com>", "support@example.com"))
    await harness.thread(reply)
    report = common_pb2.DeliveryReport(original_message_id="<ours-1@example.com>", status="5.1.1",
                                       diagnostic="550 user unknown")
    bounce = interaction(EMAIL, at(2), email_id("mailer-daemon@mx.x.cn"), queue="", email=mail(
        "Undelivered", "<dsn-1@mx.x.cn>", "mailer-daemon@mx.x.cn", delivery_status_report=True, report=report))
    threaded = await harness.thread(bounce)
    assert threaded.ticket_id == opened.ticket_id and not threaded.third_party
    [told] = await harness.published.wait("message_bounced", events_pb2.MessageBounced,
                                          lambda b: b.interaction_id == reply.id)
    assert (told.ticket_id, told.report.status, told.bounce_interaction_id) == (opened.ticket_id, "5.1.1", bounce.id)
    ticket = await harness.stub.GetTicket(pb.GetTicketRequest(id=opened.ticket_id), metadata=harness.metadata)
    outbound = next(i for i in ticket.interactions if i.id == reply.id)
    assert outbound.email.report.diagnostic == "550 user unknown"
    # A bounce about nothing of ours makes no customer and no ticket.
    stray = interaction(EMAIL, at(3), email_id("postmaster@mx.y.cn"), queue="", email=mail(
        "Undelivered", "<dsn-2@mx.y.cn>", "postmaster@mx.y.cn", delivery_status_report=True))
    nowhere = await harness.thread(stray)
    assert (nowhere.ticket_id, nowhere.customer_id) == ("", "")
