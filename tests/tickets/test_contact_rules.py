"""Phone and chat SLA, reopening by topic, priority changes, wrap-up, and merges and splits that
happen whole — against the running tickets service (real NATS, the MongoDB-protocol server)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import grpc
import pytest

from omni.devstack.processes import ManagedProcess
from omni.runtime.clock import utcnow
from omni.runtime.config import ServiceSettings
from omnichannel.common.v1 import common_pb2
from omnichannel.routing.v1 import events_pb2 as routing_events
from omnichannel.routing.v1 import routing_pb2
from omnichannel.tickets.v1 import events_pb2
from omnichannel.tickets.v1 import tickets_pb2 as pb
from tests.conftest import StartService
from tests.support.polling import eventually
from tests.tickets.conftest import Harness, at, handle, interaction, make_harness, phone

PHONE, CHAT, EMAIL = common_pb2.CHANNEL_PHONE, common_pb2.CHANNEL_CHAT, common_pb2.CHANNEL_EMAIL


async def _get(harness: Harness, ticket_id: str) -> pb.Ticket:
    return await harness.stub.GetTicket(pb.GetTicketRequest(id=ticket_id), metadata=harness.metadata)


async def _update(harness: Harness, ticket: pb.Ticket, *paths: str) -> pb.Ticket:
    return await harness.stub.UpdateTicket(pb.UpdateTicketRequest(ticket=ticket, update_mask={"paths": list(paths)}),
                                           metadata=harness.metadata)


async def _close(harness: Harness, ticket_id: str) -> pb.Ticket:
    ticket = await _get(harness, ticket_id)
    ticket.status = pb.TICKET_STATUS_CLOSED
    return await _update(harness, ticket, "status")


async def _routing(harness: Harness, kind: str, work: routing_pb2.WorkItem, event_id: str, **fields: Any) -> None:
    await harness.bus.publish("routing", kind, f"work/{work.id}", routing_events.WorkEvent(work=work, **fields),
                              event_id=event_id)


def _days_from_now(days: float) -> dt.datetime:
    return utcnow() + dt.timedelta(days=days)


async def test_answered_call_is_the_first_response_and_never_breaches(
        start_service: StartService, settings: ServiceSettings, nats: ManagedProcess, authority: Any) -> None:
    harness = await make_harness(start_service, settings, nats, authority, sla_check_seconds=0.2,
                                 sla_first_response_minutes=("low=0.1", "normal=0.1", "high=0.1", "urgent=0.1"))
    try:
        start = utcnow().replace(microsecond=0)  # MongoDB keeps milliseconds
        # An angry caller: an urgent ticket, answered at once by the agent routing connected.
        call = interaction(PHONE, start, phone("+86 138 0013 8100"), session="S-angry", emotion_score=9)
        answered = await harness.thread(call)
        work = routing_pb2.WorkItem(id="S-angry", session_id="S-angry", channel=PHONE)
        work.answer_time.FromDatetime(start + dt.timedelta(seconds=2))
        await _routing(harness, "work_assigned", work, "assigned-angry", agent_id="A-1")
        ticket = await eventually(lambda: _get(harness, answered.ticket_id),
                                  lambda t: t.sla.HasField("first_response_time"), what="the answer recorded")
        assert ticket.priority == pb.TICKET_PRIORITY_URGENT and ticket.assignee_id == "A-1"
        assert ticket.sla.first_response_time.ToDatetime(tzinfo=dt.UTC) == start + dt.timedelta(seconds=2)
        # A chat nobody accepted, due at the same moment, and an email taken by an agent (taking
        # an email is no response; the reply is): both breach, in the pass that also saw the call.
        waiting = await harness.thread(interaction(CHAT, start, handle("wx-wait"), session="S-wait"))
        mail = await harness.thread(interaction(EMAIL, start, common_pb2.Identity(
            kind=common_pb2.IDENTITY_KIND_EMAIL, value="taken@example.com"), session="S-mail",
            email=common_pb2.EmailHeaders(subject="Help", message_id="<h@x>")))
        await _routing(harness, "work_assigned", routing_pb2.WorkItem(id="S-mail", session_id="S-mail",
                                                                      channel=EMAIL), "assigned-mail", agent_id="A-2")
        for late in (waiting, mail):
            await harness.published.wait("sla_breached", events_pb2.TicketEvent,
                                         lambda e, late=late: e.ticket.id == late.ticket_id)
        breached = {e.ticket.id for e in harness.published.payloads("sla_breached", events_pb2.TicketEvent)}
        assert answered.ticket_id not in breached
        assert not (await _get(harness, answered.ticket_id)).sla.first_response_breached
    finally:
        await harness.close()


async def test_phone_and_chat_about_a_done_matter_reopen_it_or_follow_it_up(harness: Harness) -> None:
    caller = phone("+86 138 0013 8101")
    first = await harness.thread(interaction(PHONE, at(0), caller, queue="billing"))
    await _close(harness, first.ticket_id)
    # Within the follow-up window (168 h) of the close: the same matter, reopened.
    again = await harness.thread(interaction(CHAT, at(60), caller, queue="billing"))
    assert (again.ticket_id, again.created_ticket) == (first.ticket_id, False)
    reopened = await _get(harness, first.ticket_id)
    assert reopened.status == pb.TICKET_STATUS_OPEN and reopened.reopen_count == 1
    # Another topic is another matter even while that one is open.
    other = await harness.thread(interaction(PHONE, at(70), caller, queue="delivery"))
    assert other.created_ticket and other.ticket_id != first.ticket_id

    await _close(harness, first.ticket_id)
    late = interaction(PHONE, at(0), caller, queue="billing")
    late.occurred_at.FromDatetime(_days_from_now(10))
    followed = await harness.thread(late)
    assert followed.created_ticket and followed.ticket_id != first.ticket_id
    assert [(link.kind, link.ticket_id) for link in (await _get(harness, followed.ticket_id)).links] == [
        (pb.TICKET_LINK_KIND_FOLLOW_UP_OF, first.ticket_id)]
    assert (await _get(harness, first.ticket_id)).status == pb.TICKET_STATUS_CLOSED

    # A solved ticket done long ago (beyond OMNI_FOLLOW_UP_LINK_DAYS, 30) is no longer the matter.
    await _close(harness, followed.ticket_id)
    much_later = interaction(PHONE, at(0), caller, queue="billing")
    much_later.occurred_at.FromDatetime(_days_from_now(45))
    fresh = await harness.thread(much_later)
    assert fresh.created_ticket and not (await _get(harness, fresh.ticket_id)).links


async def test_call_ended_in_the_ivr_is_kept_on_the_customers_ticket(harness: Harness) -> None:
    caller = phone("+86 138 0013 8106")
    open_ticket = await harness.thread(interaction(PHONE, at(0), caller, queue="billing"))
    hung_up = interaction(PHONE, at(30), caller, queue="", text="Call ended in the IVR at the first menu",
                          abandoned_in_ivr=True)
    kept = await harness.thread(hung_up)
    assert (kept.ticket_id, kept.created_ticket) == (open_ticket.ticket_id, False)
    timeline = (await _get(harness, open_ticket.ticket_id)).interactions
    assert [(i.id, i.abandoned_in_ivr) for i in timeline] == [(open_ticket.interaction_id, False), (hung_up.id, True)]
    # A caller with no active ticket gets one, so the attempt is seen; a done one is not reopened by it.
    await _close(harness, open_ticket.ticket_id)
    first_time = await harness.thread(interaction(PHONE, at(40), caller, queue="", abandoned_in_ivr=True,
                                                  text="Call ended in the IVR at the first menu"))
    assert first_time.created_ticket and first_time.ticket_id != open_ticket.ticket_id
    assert (await _get(harness, open_ticket.ticket_id)).status == pb.TICKET_STATUS_CLOSED


async def test_priority_change_moves_the_sla_due_times(harness: Harness) -> None:
    opened = await harness.thread(interaction(PHONE, at(0), phone("+86 138 0013 8102")))
    ticket = await _get(harness, opened.ticket_id)
    assert ticket.priority == pb.TICKET_PRIORITY_NORMAL

    def due(t: pb.Ticket) -> tuple[dt.datetime, dt.datetime]:
        return (t.sla.first_response_due.ToDatetime(tzinfo=dt.UTC), t.sla.resolution_due.ToDatetime(tzinfo=dt.UTC))

    # Defaults: normal 480 / 4320 minutes, urgent 15 / 240, from the contact at at(0).
    assert due(ticket) == (at(480), at(4320))
    ticket.priority = pb.TICKET_PRIORITY_URGENT
    urgent = await _update(harness, ticket, "priority")
    assert due(urgent) == (at(15), at(240))
    # The overdue target is then flagged by the SLA loop (its due time is in the past).
    urgent.priority = pb.TICKET_PRIORITY_LOW
    low = await _update(harness, urgent, "priority")
    assert due(low) == (at(1440), at(10080))
    # A change of something else leaves them be.
    low.subject = "renamed"
    assert due(await _update(harness, low, "subject")) == (at(1440), at(10080))


async def test_wrap_up_disposition_and_note_land_on_the_ticket_once(harness: Harness) -> None:
    call = await harness.thread(interaction(PHONE, at(0), phone("+86 138 0013 8103"), session="S-wrap"))
    work = routing_pb2.WorkItem(id="S-wrap", session_id="S-wrap", channel=PHONE, disposition="refunded",
                                wrap_up_note="refund of 30 yuan; customer happy")
    await _routing(harness, "work_completed", work, "done-1", agent_id="A-7", disposition="refunded")
    ticket = await eventually(lambda: _get(harness, call.ticket_id), lambda t: t.disposition,
                              what="the disposition on the ticket")
    assert ticket.disposition == "refunded"
    assert [(n.author_id, n.text) for n in ticket.notes] == [
        ("A-7", "wrap-up: refunded — refund of 30 yuan; customer happy")]
    # The same wrap-up delivered again (another event id) adds nothing; a later work's wrap-up on
    # the same session's ticket, consumed after it, shows the first was taken once.
    await _routing(harness, "work_completed", work, "done-1-again", agent_id="A-7", disposition="refunded")
    second = routing_pb2.WorkItem(id="S-wrap-2", session_id="S-wrap", channel=PHONE)
    await _routing(harness, "work_completed", second, "done-2", agent_id="A-8", disposition="callback_promised")
    ticket = await eventually(lambda: _get(harness, call.ticket_id), lambda t: len(t.notes) == 2,
                              what="the second wrap-up")
    assert [n.text for n in ticket.notes] == ["wrap-up: refunded — refund of 30 yuan; customer happy",
                                              "wrap-up: callback_promised"]
    assert ticket.disposition == "callback_promised"


async def test_split_moves_interactions_to_a_linked_ticket(harness: Harness) -> None:
    caller = phone("+86 138 0013 8104")
    first = await harness.thread(interaction(PHONE, at(0), caller, session="S-split", text="bill wrong"))
    second = await harness.thread(interaction(PHONE, at(5), caller, session="S-split", text="and my parcel"))
    third = await harness.thread(interaction(PHONE, at(9), caller, session="S-split", text="parcel number 42"))
    split = await harness.stub.SplitTicket(pb.SplitTicketRequest(
        ticket_id=first.ticket_id, interaction_ids=[second.interaction_id, third.interaction_id],
        subject="Parcel"), metadata=harness.metadata)
    assert split.created.subject == "Parcel" and split.created.customer_id == first.customer_id
    original, created = await _get(harness, first.ticket_id), await _get(harness, split.created.id)
    assert [i.id for i in original.interactions] == [first.interaction_id]
    assert [i.id for i in created.interactions] == [second.interaction_id, third.interaction_id]
    assert (original.interaction_count, created.interaction_count) == (1, 2)
    assert [(link.kind, link.ticket_id) for link in original.links] == [(pb.TICKET_LINK_KIND_SPLIT_INTO, created.id)]
    assert [(link.kind, link.ticket_id) for link in created.links] == [(pb.TICKET_LINK_KIND_SPLIT_FROM, original.id)]
    assert created.status == pb.TICKET_STATUS_NEW and created.sla.HasField("first_response_due")
    await harness.published.wait("ticket_created", events_pb2.TicketEvent, lambda e: e.ticket.id == created.id)

    # Naming an interaction of another ticket changes nothing at all.
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await harness.stub.SplitTicket(pb.SplitTicketRequest(
            ticket_id=created.id, interaction_ids=[second.interaction_id, first.interaction_id]),
            metadata=harness.metadata)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert [i.id for i in (await _get(harness, created.id)).interactions] == [second.interaction_id,
                                                                              third.interaction_id]


async def test_merges_link_both_ways_and_a_stale_edit_of_the_target_loses(harness: Harness) -> None:
    a = await harness.thread(interaction(PHONE, at(0), phone("+86 138 0013 8105"), queue="billing"))
    b = await harness.thread(interaction(PHONE, at(1), phone("+86 138 0013 8105"), queue="delivery"))
    target = await _get(harness, a.ticket_id)
    merged = await harness.stub.MergeTickets(pb.MergeTicketsRequest(source_ticket_id=b.ticket_id,
                                                                    target_ticket_id=a.ticket_id),
                                             metadata=harness.metadata)
    assert [(link.kind, link.ticket_id) for link in merged.links] == [(pb.TICKET_LINK_KIND_MERGED_FROM, b.ticket_id)]
    assert merged.interaction_count == 2
    # An agent's edit made on the target as it was before the merge is refused, not written over it.
    target.subject = "stale"
    with pytest.raises(grpc.aio.AioRpcError) as stale:
        await _update(harness, target, "subject")
    assert stale.value.code() == grpc.StatusCode.ABORTED

    other = await harness.thread(interaction(CHAT, at(2), handle("wx-other")))
    customer = await harness.stub.MergeCustomers(pb.MergeCustomersRequest(
        source_customer_id=other.customer_id, target_customer_id=a.customer_id), metadata=harness.metadata)
    assert list(customer.merged_from) == [other.customer_id]
    old = await harness.stub.GetCustomer(pb.GetCustomerRequest(id=other.customer_id), metadata=harness.metadata)
    assert old.id == a.customer_id
    # Merging the merged-away customer again is the same customer: refused, nothing changes.
    with pytest.raises(grpc.aio.AioRpcError) as again:
        await harness.stub.MergeCustomers(pb.MergeCustomersRequest(
            source_customer_id=other.customer_id, target_customer_id=a.customer_id), metadata=harness.metadata)
    assert again.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert list((await harness.stub.GetCustomer(pb.GetCustomerRequest(id=a.customer_id),
                                                metadata=harness.metadata)).merged_from) == [other.customer_id]
