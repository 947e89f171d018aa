"""Protobuf ↔ domain: WatchTickets reads its tickets back from the events it published, so the
message a watcher gets must be the one that was published, field for field."""

from __future__ import annotations

import datetime as dt

from omni.runtime.channels import Channel
from omni.tickets import convert
from omni.tickets.domain.lifecycle import Priority, Status
from omni.tickets.domain.model import Link, LinkKind, Note, Sla, Ticket
from omnichannel.common.v1 import common_pb2

T0 = dt.datetime(2026, 11, 20, 9, 0, 0, 123456, tzinfo=dt.UTC)


def test_a_published_ticket_reads_back_as_the_same_message() -> None:
    ticket = Ticket(
        id="T-1001", customer_id="C-1001", subject="Refund", status=Status.SOLVED, priority=Priority.HIGH,
        queue="billing", group="billing-2", topic="billing", assignee_id="A-1", tags=["refund", "vip"],
        origin_channel=Channel.EMAIL, notes=[Note("n1", "A-1", "called back", T0)],
        links=[Link(LinkKind.FOLLOW_UP_OF, "T-1000")],
        sla=Sla(first_response_due=T0, resolution_due=T0 + dt.timedelta(hours=4), first_response_at=T0,
                first_response_breached=True),
        csat=4, disposition="refunded", version=7, created_at=T0, updated_at=T0 + dt.timedelta(minutes=5),
        solved_at=T0 + dt.timedelta(minutes=4), reopen_count=1, interaction_count=3,
    )
    published = convert.ticket_to_proto(ticket)
    assert convert.ticket_to_proto(convert.ticket_from_proto(published)) == published
    assert not published.HasField("close_time") and convert.ticket_from_proto(published).closed_at is None


def test_an_interaction_keeps_what_threading_reads() -> None:
    message = common_pb2.Interaction(
        id="I-1", channel=common_pb2.CHANNEL_EMAIL, direction=common_pb2.DIRECTION_OUTBOUND, session_id="S-1",
        ticket_id="T-1", queue="billing", intent="refund", language="zh", text="hi", urgent=True, emotion_score=9,
        agent_id="A-1", customer=common_pb2.CustomerRef(customer_id="C-1", display_name="Li", identities=[
            common_pb2.Identity(kind=common_pb2.IDENTITY_KIND_PHONE, value="138 0013 8000"),
            common_pb2.Identity(kind=common_pb2.IDENTITY_KIND_UNSPECIFIED, value="?")]),
        email=common_pb2.EmailHeaders(subject="Re: [#T-1]", message_id="<m2>", in_reply_to="<m1>",
                                      references=["<m0>"], auto_submitted=True))
    interaction = convert.interaction_from_proto(message)
    assert interaction.channel is Channel.EMAIL and interaction.outbound and interaction.occurred_at is None
    assert interaction.presented == ((convert.KINDS_BACK[common_pb2.IDENTITY_KIND_PHONE], "138 0013 8000"),)
    assert (interaction.email.in_reply_to, interaction.email.references) == ("<m1>", ("<m0>",))
    assert common_pb2.Interaction.FromString(interaction.raw) == message
