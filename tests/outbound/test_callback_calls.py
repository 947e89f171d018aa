"""Callbacks that really call back, on the real stack: the caller presses the callback key while
waiting and hangs up, keeps their place, an agent who frees up is offered the callback with the
customer's context, accepting it sends the PBX adapter an outbound-call command, and what the
adapter reports lands on the caller's ticket; unanswered calls are tried again, then given up."""

from __future__ import annotations

import asyncio
import datetime as dt
import smtplib
from email.message import EmailMessage
from typing import Any
from zoneinfo import ZoneInfo

import grpc
import pytest
from google.protobuf.duration_pb2 import Duration
from google.protobuf.field_mask_pb2 import FieldMask
from google.protobuf.timestamp_pb2 import Timestamp
from pymongo import AsyncMongoClient

from omni.runtime.auth import Role
from omni.runtime.config import ServiceSettings
from omnichannel.common.v1 import common_pb2
from omnichannel.routing.v1 import routing_pb2
from omnichannel.sessions.v1 import events_pb2
from omnichannel.sessions.v1 import sessions_pb2 as pb
from omnichannel.tickets.v1 import tickets_pb2
from tests.outbound.conftest import CallbackStack, Desk

CALLBACK_KEY = "1"


async def _book_by_keypad(stack: CallbackStack, call_id: str, ani: str) -> pb.Session:
    session = await stack.queued_call(call_id, ani)
    # Nobody is at a desk: the wait is over a minute, so the callback is offered.
    position = await anext(aiter(stack.routing.WatchPosition(
        routing_pb2.WatchPositionRequest(work_id=session.id), metadata=stack.token(Role.SUPERVISOR, "S-1"))))
    assert position.callback_offered and position.position == 1
    step = await stack.telephony.SubmitIvrInput(pb.SubmitIvrInputRequest(call_id=call_id, digits=CALLBACK_KEY),
                                                metadata=stack.pbx)
    assert step.session.attributes["callback_number"] == ani
    ended = await stack.telephony.EndCall(pb.EndCallRequest(call_id=call_id, abandoned=True), metadata=stack.pbx)
    assert ended.session.state == pb.SESSION_STATE_QUEUED  # hung up, still in line
    work = await stack.work(session.id, lambda w: w.state == routing_pb2.WORK_STATE_CALLBACK_SCHEDULED,
                            "scheduled as a callback")
    assert work.callback_number == ani and work.callback_number_verified
    return session


async def _command(stack: CallbackStack, session_id: str, attempt: int) -> events_pb2.OutboundCallRequested:
    [command] = await stack.published.wait("outbound_call_requested", events_pb2.OutboundCallRequested,
                                           lambda c: c.session_id == session_id and c.attempt == attempt)
    return command


async def _first_call(stack: CallbackStack, desk: Desk, session_id: str, result: int) -> None:
    """The agent at `desk` accepts the callback's offer and the adapter reports `result` for its call."""
    offer = await desk.next("offer")
    assert offer.work.id == session_id
    desk.send(accept=routing_pb2.AcceptOffer(offer_id=offer.id))
    command = await _command(stack, session_id, 1)
    await stack.telephony.ReportOutboundCall(pb.ReportOutboundCallRequest(
        call_id=command.call_id, result=result),  # type: ignore[arg-type]
        metadata=stack.pbx)


async def test_pressed_key_keeps_the_place_and_an_answered_callback_lands_on_the_ticket(
        stack: CallbackStack) -> None:
    ani = "+8613700137000"
    session = await _book_by_keypad(stack, "call-1", ani)
    # Another caller arrives later and holds: the callback keeps the place ahead of them.
    later = await stack.queued_call("call-2", "+8613600136000")

    desk = stack.desk("A-1")
    offer = await desk.next("offer")
    assert offer.work.id == session.id and offer.work.callback_number == ani
    assert offer.screen_pop.customer_id and session.ticket_id in offer.screen_pop.open_ticket_ids
    desk.send(accept=routing_pb2.AcceptOffer(offer_id=offer.id))
    command = await _command(stack, session.id, 1)
    assert (command.number, command.number_verified, command.agent_id) == (ani, True, "A-1")
    assert command.call_id == f"{session.id}-cb1" and command.caller_id == "10086"

    for result in (pb.OUTBOUND_CALL_RESULT_RINGING, pb.OUTBOUND_CALL_RESULT_ANSWERED):
        step = await stack.telephony.ReportOutboundCall(
            pb.ReportOutboundCallRequest(call_id=command.call_id, result=result), metadata=stack.pbx)
    assert step.session.state == pb.SESSION_STATE_CONNECTED and step.session.agent_id == "A-1"
    # The adapter retrying its report changes nothing.
    await stack.telephony.ReportOutboundCall(pb.ReportOutboundCallRequest(
        call_id=command.call_id, result=pb.OUTBOUND_CALL_RESULT_ANSWERED), metadata=stack.pbx)

    interactions = await stack.ticket_interactions(session.ticket_id, 2)
    answered = [i for i in interactions if i.direction == common_pb2.DIRECTION_OUTBOUND]
    assert len(answered) == 1 and "answered" in answered[0].text and answered[0].agent_id == "A-1"

    ended = await stack.telephony.EndCall(pb.EndCallRequest(call_id=command.call_id), metadata=stack.pbx)
    assert ended.session.state == pb.SESSION_STATE_WRAP_UP
    desk.send(wrap_up=routing_pb2.WrapUp(work_id=session.id, disposition="resolved"))
    # Then the agent takes the caller who held.
    assert (await desk.next("offer")).work.id == later.id
    done = await stack.work(session.id, lambda w: w.state == routing_pb2.WORK_STATE_COMPLETED, "completed")
    assert done.callback_attempts == 1
    desk.close()


async def test_unanswered_callback_is_redialled_then_given_up_every_attempt_on_the_ticket(
        stack: CallbackStack) -> None:
    session = await _book_by_keypad(stack, "call-3", "+8613500135000")
    desk = stack.desk("A-2")
    results = (pb.OUTBOUND_CALL_RESULT_NO_ANSWER, pb.OUTBOUND_CALL_RESULT_BUSY, pb.OUTBOUND_CALL_RESULT_VOICEMAIL)
    for attempt, result in enumerate(results, start=1):
        offer = await desk.next("offer")
        assert offer.work.id == session.id
        desk.send(accept=routing_pb2.AcceptOffer(offer_id=offer.id))
        command = await _command(stack, session.id, attempt)
        step = await stack.telephony.ReportOutboundCall(pb.ReportOutboundCallRequest(
            call_id=command.call_id, result=result), metadata=stack.pbx)
        assert step.session.state == pb.SESSION_STATE_QUEUED and not step.session.agent_id
        if attempt == 2:
            # The third touch is "SMS + call": the reminder reaches the SMSC before the call is made.
            [reminder] = await stack.smsc.wait_for(1)
            assert reminder.destination == "8613500135000" and "call you again" in reminder.text
        if attempt < len(results):
            # The desk is told the callback left the agent, who is free at once; it waits for
            # its next call, due later.
            left = await desk.next("assigned")
            while left.state == routing_pb2.WORK_STATE_ASSIGNED:
                left = await desk.next("assigned")
            assert left.id == session.id and left.state == routing_pb2.WORK_STATE_CALLBACK_SCHEDULED
            work = await stack.work(session.id, lambda w: w.state == routing_pb2.WORK_STATE_CALLBACK_SCHEDULED,
                                    f"waiting for call {attempt + 1}")
            assert work.callback_attempts == attempt
        # A late report for a call that is over is refused.
        with pytest.raises(grpc.aio.AioRpcError) as stale:
            await stack.telephony.ReportOutboundCall(pb.ReportOutboundCallRequest(
                call_id=f"{session.id}-cb{attempt + 1}", result=pb.OUTBOUND_CALL_RESULT_ANSWERED),
                metadata=stack.pbx)
        assert stale.value.code() in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.FAILED_PRECONDITION)

    done = await stack.work(session.id, lambda w: w.state == routing_pb2.WORK_STATE_COMPLETED, "given up")
    assert done.disposition == "callback_unreached" and done.callback_attempts == 3
    ended = await stack.session(session.id, lambda s: s.state == pb.SESSION_STATE_ENDED, "ended")
    assert ended.state == pb.SESSION_STATE_ENDED
    texts = [i.text for i in await stack.ticket_interactions(session.ticket_id, 5)
             if i.direction == common_pb2.DIRECTION_OUTBOUND]
    assert [t.rsplit(": ", 1)[-1] for t in texts] == [
        "no answer", "busy", "We tried to call you back but could not reach you. We will call you again soon.",
        "voicemail"]
    assert len(stack.smsc.submitted) == 1  # one reminder, before the third call only
    desk.close()


async def test_booking_rules_verified_numbers_chosen_times_and_hostile_reports(stack: CallbackStack) -> None:
    session = await stack.queued_call("call-4", "+8613400134000")
    supervisor = stack.token(Role.SUPERVISOR, "S-1")
    past = Timestamp(seconds=1)
    with pytest.raises(grpc.aio.AioRpcError) as early:
        await stack.routing.ScheduleCallback(routing_pb2.ScheduleCallbackRequest(
            work_id=session.id, due_time=past), metadata=supervisor)
    assert early.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    # A customer's own token may not have a stranger called.
    customer = stack.token(Role.CUSTOMER, "visitor", session_id=session.id)
    with pytest.raises(grpc.aio.AioRpcError) as stranger:
        await stack.routing.ScheduleCallback(routing_pb2.ScheduleCallbackRequest(
            work_id=session.id, number="+8613900139000"), metadata=customer)
    assert stranger.value.code() == grpc.StatusCode.PERMISSION_DENIED
    # A supervisor books it to the number the customer gave on the phone: marked unverified.
    due = Timestamp()
    due.GetCurrentTime()
    due.seconds += 3600
    work = await stack.routing.ScheduleCallback(routing_pb2.ScheduleCallbackRequest(
        work_id=session.id, number="+8613900139000", due_time=due), metadata=supervisor)
    assert work.state == routing_pb2.WORK_STATE_CALLBACK_SCHEDULED and not work.callback_number_verified
    assert work.callback_number == "+8613900139000"
    # Not due for an hour: an agent who frees up is offered the caller who came after instead.
    later = await stack.queued_call("call-5", "+8613300133000")
    desk = stack.desk("A-1")
    offer = await desk.next("offer")
    assert offer.work.id == later.id
    desk.close()

    for call_id, result, code in (("nobody", pb.OUTBOUND_CALL_RESULT_ANSWERED, grpc.StatusCode.NOT_FOUND),
                                  ("call-4", pb.OUTBOUND_CALL_RESULT_UNSPECIFIED, grpc.StatusCode.INVALID_ARGUMENT),
                                  ("call-4", pb.OUTBOUND_CALL_RESULT_ANSWERED, grpc.StatusCode.FAILED_PRECONDITION)):
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await stack.telephony.ReportOutboundCall(pb.ReportOutboundCallRequest(call_id=call_id, result=result),
                                                     metadata=stack.pbx)
        assert refused.value.code() == code, call_id
    with pytest.raises(grpc.aio.AioRpcError) as agent_call:
        await stack.telephony.ReportOutboundCall(pb.ReportOutboundCallRequest(
            call_id="call-4", result=pb.OUTBOUND_CALL_RESULT_ANSWERED), metadata=stack.token(Role.AGENT, "A-1"))
    assert agent_call.value.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_agent_books_a_callback_to_another_number_for_the_caller_they_hold(stack: CallbackStack) -> None:
    session = await stack.queued_call("call-6", "+8613200132000")
    desk = stack.desk("A-1")
    offer = await desk.next("offer")
    desk.send(accept=routing_pb2.AcceptOffer(offer_id=offer.id))
    await stack.session(session.id, lambda s: s.state == pb.SESSION_STATE_CONNECTED, "connected to A-1")
    other = "+8613100131000"
    with pytest.raises(grpc.aio.AioRpcError) as not_theirs:
        await stack.routing.ScheduleCallback(routing_pb2.ScheduleCallbackRequest(work_id=session.id, number=other),
                                             metadata=stack.token(Role.AGENT, "A-2"))
    assert not_theirs.value.code() == grpc.StatusCode.PERMISSION_DENIED
    # The caller asks A-1 to be called back on another phone: unverified, and A-1 is free again.
    work = await stack.routing.ScheduleCallback(routing_pb2.ScheduleCallbackRequest(work_id=session.id, number=other),
                                                metadata=stack.token(Role.AGENT, "A-1"))
    assert work.callback_number == other and not work.callback_number_verified
    offer = await desk.next("offer")
    assert offer.work.id == session.id and offer.work.state == routing_pb2.WORK_STATE_OFFERED
    desk.send(accept=routing_pb2.AcceptOffer(offer_id=offer.id))
    command = await _command(stack, session.id, 1)
    assert (command.number, command.number_verified) == (other, False)
    step = await stack.telephony.ReportOutboundCall(pb.ReportOutboundCallRequest(
        call_id=command.call_id, result=pb.OUTBOUND_CALL_RESULT_ANSWERED), metadata=stack.pbx)
    assert step.session.attributes["callback_verified"] == "0"
    [record] = [i for i in await stack.ticket_interactions(session.ticket_id, 2)
                if i.direction == common_pb2.DIRECTION_OUTBOUND]
    assert "unverified" in record.text and record.text.endswith("answered")
    desk.close()


async def test_the_queue_policy_waits_for_the_redial_at_the_best_hour_and_an_email_from_the_customer_stops_it(
        stack: CallbackStack, settings: ServiceSettings) -> None:
    admin = stack.token(Role.ADMIN, "admin")
    now = dt.datetime.now(dt.UTC)

    async def policy(quiet: str) -> routing_pb2.Queue:
        """Billing's own policy: the redial an hour after an unanswered call, announced by an SMS,
        put off by up to 4 h to the customer's best hour; no call or SMS within `quiet`."""
        return await stack.routing.UpdateQueue(routing_pb2.UpdateQueueRequest(
            queue=routing_pb2.Queue(id="billing", callback_attempts=routing_pb2.CallbackAttempts(
                retry_delays=[Duration(seconds=3600)], max_attempts=3, sms_attempts=[2], quiet_hours=quiet,
                best_time_window=Duration(seconds=4 * 3600))),
            update_mask=FieldMask(paths=["callback_attempts"])), metadata=admin)

    updated = await policy("")
    assert list(updated.callback_attempts.sms_attempts) == [2]
    assert updated.callback_attempts.best_time_window.seconds == 4 * 3600
    with pytest.raises(grpc.aio.AioRpcError) as bad:  # the first call is never announced: it was asked for
        await stack.routing.UpdateQueue(routing_pb2.UpdateQueueRequest(
            queue=routing_pb2.Queue(id="billing", callback_attempts=routing_pb2.CallbackAttempts(sms_attempts=[1])),
            update_mask=FieldMask(paths=["callback_attempts"])), metadata=admin)
    assert bad.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    customer = await stack.tickets.CreateCustomer(tickets_pb2.CreateCustomerRequest(customer=tickets_pb2.Customer(
        display_name="Wang Fang", identities=[
            common_pb2.Identity(kind=common_pb2.IDENTITY_KIND_PHONE, value="+8613000130000"),
            common_pb2.Identity(kind=common_pb2.IDENTITY_KIND_EMAIL, value="wang.fang@customer.cn")])),
        metadata=admin)
    # Her history: she answered calls made four hours from now's hour of the day, never others.
    best = now + dt.timedelta(hours=4)
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(settings.mongo_url, directConnection=True)
    routing_db, sessions_db = (client[f"{settings.mongo_database}_{name}"] for name in ("routing", "sessions"))
    await routing_db["call_outcomes"].insert_many([
        {"_id": f"old-{day}-{hour}", "customer": customer.id, "segment": "zh/standard", "at": now.timestamp() - 86400,
         "hour": day * 24 + hour, "reached": hour == best.hour} for day in range(7) for hour in range(24)])
    session = await _book_by_keypad(stack, "call-7", "+8613000130000")
    assert session.customer.customer_id == customer.id
    desk = stack.desk("A-1")
    offer = await desk.next("offer")
    desk.send(accept=routing_pb2.AcceptOffer(offer_id=offer.id))
    command = await _command(stack, session.id, 1)
    # While it rings, the night comes: no call or SMS from an hour ago to 2 h on.
    await policy(f"{now - dt.timedelta(hours=1):%H:%M}-{now + dt.timedelta(hours=2):%H:%M}")
    await stack.telephony.ReportOutboundCall(pb.ReportOutboundCallRequest(
        call_id=command.call_id, result=pb.OUTBOUND_CALL_RESULT_NO_ANSWER), metadata=stack.pbx)
    work = await stack.work(session.id, lambda w: w.callback_attempts == 1, "waiting for its redial")
    assert work.state == routing_pb2.WORK_STATE_CALLBACK_SCHEDULED
    # The call's outcome joined her history; the redial is due in her best hour, not at the end
    # of the quiet hours (2 h on) that the delay alone would give.
    outcome = await routing_db["call_outcomes"].find_one({"_id": f"{session.id}:1"})
    assert outcome is not None and (outcome["customer"], outcome["reached"]) == (customer.id, False)
    stored = await routing_db["work_items"].find_one({"_id": session.id})
    assert stored is not None
    assert dt.datetime.fromtimestamp(stored["not_before"], dt.UTC).hour == best.hour
    # The reminder for the redial was booked within the quiet hours: kept for their end, not sent.
    reminder = await stack.session(session.id, lambda s: any(
        m.direction == common_pb2.DIRECTION_OUTBOUND and m.text.startswith("We tried to call you back")
        for m in s.messages), "with its reminder")
    [pending] = [m for m in reminder.messages if m.text.startswith("We tried to call you back")]
    assert pending.delivery == "pending"
    row = await sessions_db["sms_outbox"].find_one({"_id": pending.id})
    quiet_end = (now + dt.timedelta(hours=2)).replace(second=0, microsecond=0)
    assert row is not None and abs(row["due"].replace(tzinfo=dt.UTC) - quiet_end) < dt.timedelta(minutes=1)

    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = "wang.fang@customer.cn", "support@example.com", "My bill"
    mail.set_content("Never mind the call, here is my question by email.")
    await asyncio.to_thread(_send_mail, stack.smtp_port, mail)

    stopped = await stack.session(session.id, lambda s: s.state == pb.SESSION_STATE_ENDED, "stopped")
    assert stopped.transitions[-1].reason.startswith("callback stopped: the customer contacted us by email")
    done = await stack.work(session.id, lambda w: w.state == routing_pb2.WORK_STATE_ABANDONED, "taken off the line")
    assert done.callback_attempts == 1
    assert len(stack.published.payloads("outbound_call_requested", events_pb2.OutboundCallRequested,
                                        lambda c: c.session_id == session.id)) == 1
    # The reminder of a call that is not coming is never sent.
    unsent = await stack.session(session.id, lambda s: any(m.id == pending.id and m.delivery == "failed"
                                                            for m in s.messages), "reminder withdrawn")
    assert unsent.state == pb.SESSION_STATE_ENDED and stack.smsc.submitted == []
    await client.close()
    desk.close()


def _send_mail(port: int, mail: EmailMessage) -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
        client.send_message(mail)


async def test_a_do_not_contact_customer_gets_the_call_they_asked_for_but_no_redial(stack: CallbackStack) -> None:
    admin = stack.token(Role.ADMIN, "admin")
    await stack.tickets.CreateCustomer(tickets_pb2.CreateCustomerRequest(customer=tickets_pb2.Customer(
        display_name="Zhao Lei", tags=["do_not_contact"],
        identities=[common_pb2.Identity(kind=common_pb2.IDENTITY_KIND_PHONE, value="+8615900159000")])),
        metadata=admin)
    session = await _book_by_keypad(stack, "call-8", "+8615900159000")
    desk = stack.desk("A-2")
    await _first_call(stack, desk, session.id, pb.OUTBOUND_CALL_RESULT_BUSY)
    done = await stack.work(session.id, lambda w: w.state == routing_pb2.WORK_STATE_COMPLETED, "given up")
    assert done.disposition == "do_not_contact" and done.callback_attempts == 1
    await stack.session(session.id, lambda s: s.state == pb.SESSION_STATE_ENDED, "ended")
    # No redial, so no reminder either (the same change decided both).
    assert stack.smsc.submitted == []
    desk.close()


async def test_a_caller_chooses_an_offered_callback_time_and_a_closed_time_is_refused(stack: CallbackStack) -> None:
    session = await stack.queued_call("call-8", "+8613000130000")
    customer = stack.token(Role.CUSTOMER, "visitor", session_id=session.id)
    offered = await stack.routing.ListCallbackSlots(routing_pb2.ListCallbackSlotsRequest(
        work_id=session.id, max_slots=4), metadata=customer)
    # Always open, no history yet: two agents of the queue answering a call per 3 minutes (routing's
    # handle time before any call) is 20 calls a half hour, a fifth of them for callbacks.
    assert len(offered.slots) == 4 and offered.time_zone == "UTC"
    first = offered.slots[0]
    assert first.start_time.seconds % 1800 == 0 and first.places_left == 4
    work = await stack.routing.ScheduleCallback(routing_pb2.ScheduleCallbackRequest(
        work_id=session.id, due_time=first.start_time), metadata=customer)
    assert work.state == routing_pb2.WORK_STATE_CALLBACK_SCHEDULED
    assert work.callback_due_time == first.start_time and work.callback_number_verified

    # The next caller sees one place fewer in that slot; nobody sees another caller's times.
    other = await stack.queued_call("call-9", "+8612900129000")
    again = await stack.routing.ListCallbackSlots(routing_pb2.ListCallbackSlotsRequest(
        work_id=other.id, max_slots=1), metadata=stack.token(Role.CUSTOMER, "visitor", session_id=other.id))
    assert again.slots[0].start_time == first.start_time and again.slots[0].places_left == 3
    with pytest.raises(grpc.aio.AioRpcError) as foreign:
        await stack.routing.ListCallbackSlots(routing_pb2.ListCallbackSlotsRequest(work_id=other.id),
                                              metadata=customer)
    assert foreign.value.code() == grpc.StatusCode.PERMISSION_DENIED

    # The PBX adapter reads the same times (its service token) and books the one the caller keyed.
    by_phone = await stack.routing.ListCallbackSlots(routing_pb2.ListCallbackSlotsRequest(
        work_id=other.id, max_slots=2), metadata=stack.pbx)
    with pytest.raises(grpc.aio.AioRpcError) as past:
        await stack.telephony.RequestCallback(pb.RequestCallbackRequest(call_id="call-9", not_before=Timestamp(
            seconds=1)), metadata=stack.pbx)
    assert past.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    await stack.telephony.RequestCallback(pb.RequestCallbackRequest(
        call_id="call-9", not_before=by_phone.slots[1].start_time), metadata=stack.pbx)
    await stack.work(other.id, lambda w: w.callback_due_time == by_phone.slots[1].start_time,
                     "the caller's callback due at the time they keyed")

    # Office hours from now on: a time while the queue is closed is refused with what to do.
    await stack.routing.UpdateQueue(routing_pb2.UpdateQueueRequest(
        queue=routing_pb2.Queue(id="billing", hours=routing_pb2.BusinessHours(
            time_zone="Asia/Shanghai", windows=["mon-fri 09:00-18:00"])),
        update_mask=FieldMask(paths=["hours"])), metadata=stack.token(Role.ADMIN, "admin"))
    sunday_night = Timestamp()
    sunday_night.FromDatetime(next_weekday_at(6, 3))
    with pytest.raises(grpc.aio.AioRpcError) as closed:
        await stack.routing.ScheduleCallback(routing_pb2.ScheduleCallbackRequest(
            work_id=other.id, due_time=sunday_night), metadata=stack.token(Role.SUPERVISOR, "S-1"))
    assert closed.value.code() == grpc.StatusCode.FAILED_PRECONDITION and "ListCallbackSlots" in closed.value.details()
    with pytest.raises(grpc.aio.AioRpcError) as negative:
        await stack.routing.ListCallbackSlots(routing_pb2.ListCallbackSlotsRequest(work_id=other.id, max_slots=-1),
                                              metadata=stack.token(Role.SUPERVISOR, "S-1"))
    assert negative.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def next_weekday_at(weekday: int, hour: int) -> dt.datetime:
    """The next `weekday` (0 = Monday) at `hour`:00 in Shanghai, as UTC."""
    now = dt.datetime.now(ZoneInfo("Asia/Shanghai"))
    day = now.date() + dt.timedelta(days=(weekday - now.weekday()) % 7 or 7)
    return dt.datetime.combine(day, dt.time(hour), ZoneInfo("Asia/Shanghai")).astimezone(dt.UTC).replace(tzinfo=None)
