"""Phone calls through the telephony API: IVR, speech intent, callbacks, routing-driven states,
and a customer moving from chat to phone."""

from __future__ import annotations

import json

import grpc
import pytest
import websockets

from omni.kpis import stored
from omni.runtime.auth import Role
from omni.runtime.dead_letters import read_dead_letters
from omnichannel.routing.v1.events_pb2 import WorkEvent
from omnichannel.routing.v1.routing_pb2 import WorkItem
from omnichannel.sessions.v1 import events_pb2
from omnichannel.sessions.v1 import sessions_pb2 as pb
from tests.support.polling import eventually


async def test_ivr_digits_2_then_1_land_in_the_internet_queue(stack, published) -> None:
    pbx = stack.token(Role.SERVICE, "pbx")
    started = await stack.telephony.StartCall(pb.StartCallRequest(call_id="call-1", ani="13800138000",
                                                                  dnis="10086"), metadata=pbx)
    assert started.session.state == pb.SESSION_STATE_IVR and "technical support 2" in started.prompt
    assert started.prompt_style == pb.PROMPT_STYLE_STANDARD
    step = await stack.telephony.SubmitIvrInput(pb.SubmitIvrInputRequest(call_id="call-1", digits="2"), metadata=pbx)
    assert "Internet 1" in step.prompt and step.session.state == pb.SESSION_STATE_IVR

    step = await stack.telephony.SubmitIvrInput(pb.SubmitIvrInputRequest(call_id="call-1", digits="1"), metadata=pbx)
    assert step.prompt == "" and step.session.state == pb.SESSION_STATE_QUEUED
    assert step.session.queue == "tech_internet" and step.session.attributes["ivr_path"] == "2>1"
    # Queuing the call is the last thing sessions publishes for it: once that is here, anything
    # the first digit had published is here too.
    [changed] = await published.wait("session_state_changed", events_pb2.SessionStateChanged)
    assert (changed.previous_state, changed.session.state) == (pb.SESSION_STATE_IVR, pb.SESSION_STATE_QUEUED)
    # One interaction, when the call was queued: none while it was in the IVR (routing must not see it).
    [received] = published.payloads("interaction_received", events_pb2.InteractionReceived)
    assert (received.interaction.queue, received.interaction.intent) == ("tech_internet", "technical")
    assert received.interaction.customer.identities[0].value == "13800138000"
    assert received.interaction.attributes["dnis"] == "10086"
    assert published.types() == ["interaction_received", "session_state_changed"]

    # A PBX retrying StartCall gets the same session; input after the IVR is refused.
    again = await stack.telephony.StartCall(pb.StartCallRequest(call_id="call-1", ani="13800138000"), metadata=pbx)
    assert again.session.id == step.session.id
    with pytest.raises(grpc.aio.AioRpcError) as late:
        await stack.telephony.SubmitIvrInput(pb.SubmitIvrInputRequest(call_id="call-1", digits="3"), metadata=pbx)
    assert late.value.code() == grpc.StatusCode.FAILED_PRECONDITION


async def test_a_caller_with_an_accessibility_need_skips_the_menus_to_a_person(stack, published) -> None:
    pbx = stack.token(Role.SERVICE, "pbx")
    started = await stack.telephony.StartCall(pb.StartCallRequest(
        call_id="call-acc", ani="13800138222", accessibility=["Hearing", "hearing", "elderly"]), metadata=pbx)
    # No menu to hear: queued for a person at once, and whatever is played is slow and plain.
    assert started.prompt == "" and started.prompt_style == pb.PROMPT_STYLE_SLOW_PLAIN
    assert (started.session.state, started.session.queue) == (pb.SESSION_STATE_QUEUED, "general")
    [received] = await published.wait("interaction_received", events_pb2.InteractionReceived)
    assert received.interaction.queue == "general" and received.interaction.intent == "agent_request"
    assert received.interaction.attributes["accessibility"] == "hearing,elderly"
    assert received.interaction.text == "IVR: menus skipped (hearing, elderly)"
    # Keys pressed now are too late for the menu, as for any queued call.
    with pytest.raises(grpc.aio.AioRpcError) as late:
        await stack.telephony.SubmitIvrInput(pb.SubmitIvrInputRequest(call_id="call-acc", digits="2"), metadata=pbx)
    assert late.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    # Needs beyond the limit are refused before any session is made.
    with pytest.raises(grpc.aio.AioRpcError) as hostile:
        await stack.telephony.StartCall(pb.StartCallRequest(call_id="call-acc-2", ani="13800138223",
                                                            accessibility=[f"need-{n}" for n in range(9)]),
                                        metadata=pbx)
    assert hostile.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "at most 8" in (hostile.value.details() or "")


async def test_call_ended_in_the_ivr_is_one_interaction_without_a_queue(stack, published) -> None:
    pbx = stack.token(Role.SERVICE, "pbx")
    await stack.telephony.StartCall(pb.StartCallRequest(call_id="call-ivr", ani="13800138111"), metadata=pbx)
    await stack.telephony.SubmitIvrInput(pb.SubmitIvrInputRequest(call_id="call-ivr", digits="2"), metadata=pbx)
    ended = await stack.telephony.EndCall(pb.EndCallRequest(call_id="call-ivr", abandoned=True), metadata=pbx)
    assert ended.session.state == pb.SESSION_STATE_ABANDONED
    [received] = await published.wait("interaction_received", events_pb2.InteractionReceived)
    interaction = received.interaction
    assert interaction.abandoned_in_ivr and interaction.queue == ""  # no queue: routing makes no work of it
    assert interaction.text == "Call ended in the IVR at: technical support"
    assert interaction.customer.identities[0].value == "13800138111"
    # The PBX repeating EndCall changes nothing; the state change was published after the interaction.
    again = await stack.telephony.EndCall(pb.EndCallRequest(call_id="call-ivr", abandoned=True), metadata=pbx)
    assert again.session.version == ended.session.version
    await published.wait("session_state_changed", events_pb2.SessionStateChanged)
    assert len(published.payloads("interaction_received", events_pb2.InteractionReceived)) == 1


async def test_spoken_complaint_is_urgent_and_goes_to_complaints(stack, published) -> None:
    pbx = stack.token(Role.SERVICE, "pbx")
    await stack.telephony.StartCall(pb.StartCallRequest(call_id="call-2", ani="+8613900139000"), metadata=pbx)
    step = await stack.telephony.SubmitIvrInput(pb.SubmitIvrInputRequest(call_id="call-2", speech_text="我要投诉"),
                                                metadata=pbx)
    session = step.session
    assert (session.intent, session.queue, session.language) == ("complaint", "complaints", "zh")
    assert session.urgent and session.emotion_score >= 8
    [received] = await published.wait("interaction_received", events_pb2.InteractionReceived)
    assert received.interaction.urgent and received.interaction.emotion_score >= 8
    assert received.interaction.text == "我要投诉"


async def test_callback_request_is_published_and_keeps_the_place(stack, published) -> None:
    pbx = stack.token(Role.SERVICE, "pbx")
    await stack.telephony.StartCall(pb.StartCallRequest(call_id="call-3", ani="13700137000"), metadata=pbx)
    with pytest.raises(grpc.aio.AioRpcError) as early:
        await stack.telephony.RequestCallback(pb.RequestCallbackRequest(call_id="call-3"), metadata=pbx)
    assert early.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    await stack.telephony.SubmitIvrInput(pb.SubmitIvrInputRequest(call_id="call-3", digits="1"), metadata=pbx)
    await stack.telephony.RequestCallback(pb.RequestCallbackRequest(call_id="call-3"), metadata=pbx)
    [callback] = await published.wait("callback_requested", events_pb2.CallbackRequested)
    assert (callback.number, callback.queue) == ("13700137000", "billing")
    ended = await stack.telephony.EndCall(pb.EndCallRequest(call_id="call-3", abandoned=True), metadata=pbx)
    assert ended.session.state == pb.SESSION_STATE_QUEUED  # not abandoned: we call back


async def test_routing_events_move_the_session_with_timestamps(stack, published) -> None:
    pbx = stack.token(Role.SERVICE, "pbx")
    await stack.telephony.StartCall(pb.StartCallRequest(call_id="call-4", ani="13600136000"), metadata=pbx)
    step = await stack.telephony.SubmitIvrInput(pb.SubmitIvrInputRequest(call_id="call-4", digits="0"), metadata=pbx)
    session_id = step.session.id
    assert step.session.queue == "general"
    bus = await stack.bus()
    work = WorkItem(id=session_id, session_id=session_id, queue_id="general")
    for event_type in ("work_offered", "work_assigned"):
        await bus.publish("routing", event_type, f"work/{session_id}", WorkEvent(work=work, agent_id="A-5"),
                          event_id=f"{session_id}:{event_type}")
    staff = stack.token(Role.SUPERVISOR, "S-1")

    async def session_now() -> pb.Session:
        return await stack.sessions.GetSession(pb.GetSessionRequest(id=session_id), metadata=staff)

    session = await eventually(session_now, lambda s: s.state == pb.SESSION_STATE_CONNECTED,
                               what=f"session {session_id} connected by routing's events")
    assert session.agent_id == "A-5"
    await stack.telephony.EndCall(pb.EndCallRequest(call_id="call-4"), metadata=pbx)
    await bus.publish("routing", "work_completed", f"work/{session_id}", WorkEvent(work=work),
                      event_id=f"{session_id}:work_completed")
    # Not a WorkEvent: dead-lettered, never retried forever.
    await bus.publish("routing", "work_offered", "work/x", pb.Session(id="x"), event_id="bogus")
    session = await eventually(session_now, lambda s: s.state == pb.SESSION_STATE_ENDED,
                               what=f"session {session_id} ended by work_completed")
    states = [t.state for t in session.transitions]
    assert states == [pb.SESSION_STATE_IVR, pb.SESSION_STATE_QUEUED, pb.SESSION_STATE_OFFERED,
                      pb.SESSION_STATE_CONNECTED, pb.SESSION_STATE_WRAP_UP, pb.SESSION_STATE_ENDED]
    times = [t.time.ToDatetime() for t in session.transitions]
    assert times == sorted(times)
    letters = await eventually(lambda: read_dead_letters(bus, "sessions-routing"),
                               what="the bogus routing event dead-lettered by sessions")
    assert [letter.event.id for letter in letters] == ["bogus"]
    await bus.close()
    changes = await published.wait("session_state_changed", events_pb2.SessionStateChanged, count=5)
    assert changes[-1].session.state == pb.SESSION_STATE_ENDED


async def test_routing_wait_facts_are_kept_for_the_kpi_report(stack, published) -> None:
    pbx = stack.token(Role.SERVICE, "pbx")
    await stack.telephony.StartCall(pb.StartCallRequest(call_id="call-kpi", ani="13600136111"), metadata=pbx)
    step = await stack.telephony.SubmitIvrInput(pb.SubmitIvrInputRequest(call_id="call-kpi", digits="0"),
                                                metadata=pbx)
    session_id = step.session.id
    bus = await stack.bus()
    told = WorkItem(id=session_id, session_id=session_id, queue_id="general", vip=True)
    told.estimated_wait.FromSeconds(42)
    later = WorkItem(id=session_id, session_id=session_id, queue_id="general", vip=True,
                     callback_number="13600136111", callback_number_verified=True)
    later.estimated_wait.FromSeconds(99)
    # The estimate told on arrival is the one kept (a redelivery or a later one changes nothing).
    for event_type, work, event_id in (("work_queued", told, "q1"), ("work_queued", told, "q1-again"),
                                       ("work_queued", later, "q2"), ("callback_scheduled", later, "cb")):
        await bus.publish("routing", event_type, f"work/{session_id}", WorkEvent(work=work), event_id=event_id)
    await bus.close()
    staff = stack.token(Role.SUPERVISOR, "S-1")
    session = await eventually(
        lambda: stack.sessions.GetSession(pb.GetSessionRequest(id=session_id), metadata=staff),
        lambda s: "callback_number" in s.attributes, what="the callback booked on the session")
    record = stored.contact_record(session)
    assert record is not None
    assert (record.vip, record.estimated_wait, record.callback) == (True, 42.0, True)
    assert session.state == pb.SESSION_STATE_QUEUED  # facts, no state change


async def test_chat_then_phone_links_the_second_session_to_the_first(stack, published) -> None:
    async with websockets.connect(stack.ws_url) as ws:
        await ws.send(json.dumps({"start": {"handle": "web-1", "identity_token": stack.identity_token(
            phone="+86 138 0013 8000")}}))
        while "started" not in (frame := json.loads(await ws.recv())):
            pass
        chat_id = frame["started"]["session_id"]
        await ws.send(json.dumps({"text": {"text": "my bill is wrong"}}))
        await published.wait("interaction_received", events_pb2.InteractionReceived)
    bus = await stack.bus()
    from omnichannel.tickets.v1.events_pb2 import InteractionThreaded

    await bus.publish("tickets", "interaction_threaded", "tickets/T-77",
                      InteractionThreaded(session_id=chat_id, ticket_id="T-77", customer_id="C-1"))
    await bus.close()
    staff = stack.token(Role.SUPERVISOR, "S-1")
    await eventually(lambda: stack.sessions.GetSession(pb.GetSessionRequest(id=chat_id), metadata=staff),
                     lambda s: s.ticket_id, what=f"chat {chat_id} filed on ticket T-77")

    pbx = stack.token(Role.SERVICE, "pbx")
    call = await stack.telephony.StartCall(pb.StartCallRequest(call_id="call-5", ani="13800138000"), metadata=pbx)
    assert call.session.previous_session_id == chat_id
    assert (call.session.ticket_id, call.session.customer.customer_id) == ("T-77", "C-1")
    await stack.telephony.SubmitIvrInput(pb.SubmitIvrInputRequest(call_id="call-5", digits="1"), metadata=pbx)
    phone = await published.wait("interaction_received", events_pb2.InteractionReceived,
                                 where=lambda e: e.interaction.session_id == call.session.id)
    assert phone[0].interaction.previous_session_id == chat_id
    assert phone[0].interaction.ticket_id == "T-77"


@pytest.mark.parametrize(
    ("method", "request_", "code", "fragment"),
    [
        ("StartCall", pb.StartCallRequest(call_id="c"), grpc.StatusCode.INVALID_ARGUMENT, "ani"),
        ("SubmitIvrInput", pb.SubmitIvrInputRequest(call_id="nope", digits="1"), grpc.StatusCode.NOT_FOUND,
         "StartCall"),
        ("SubmitIvrInput", pb.SubmitIvrInputRequest(call_id="nope", digits="12a"), grpc.StatusCode.INVALID_ARGUMENT,
         "0-9"),
        ("TransferCall", pb.TransferCallRequest(call_id="nope", target_queue="q"), grpc.StatusCode.INVALID_ARGUMENT,
         "reason"),
    ],
)
async def test_bad_telephony_input_gets_an_actionable_error(stack, method, request_, code, fragment) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await getattr(stack.telephony, method)(request_, metadata=stack.token(Role.SERVICE, "pbx"))
    assert err.value.code() == code and fragment in (err.value.details() or "")


async def test_agents_cannot_drive_the_pbx_api(stack) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stack.telephony.StartCall(pb.StartCallRequest(call_id="c", ani="1"),
                                        metadata=stack.token(Role.AGENT, "A-1"))
    assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_a_former_routing_owners_late_event_does_not_undo_the_current_owners(stack) -> None:
    pbx = stack.token(Role.SERVICE, "pbx")
    await stack.telephony.StartCall(pb.StartCallRequest(call_id="call-9", ani="13600136009"), metadata=pbx)
    step = await stack.telephony.SubmitIvrInput(pb.SubmitIvrInputRequest(call_id="call-9", digits="0"), metadata=pbx)
    session_id = step.session.id
    bus = await stack.bus()
    work = WorkItem(id=session_id, session_id=session_id, queue_id="general")

    async def routed(event_type: str, agent_id: str, epoch: int, event_id: str) -> None:
        await bus.publish("routing", event_type, f"work/{session_id}",
                          WorkEvent(work=work, agent_id=agent_id, partition="g:general", epoch=epoch),
                          event_id=event_id)

    # The partition's current owner (epoch 7) connects A-5; the replica that owned it before
    # (epoch 3) publishes, late, an assignment to A-1 it made before losing its lease.
    staff = stack.token(Role.SUPERVISOR, "S-1")

    async def session_in(state: pb.SessionState.ValueType) -> pb.Session:
        return await eventually(
            lambda: stack.sessions.GetSession(pb.GetSessionRequest(id=session_id), metadata=staff),
            lambda s: s.state == state, what=f"session {session_id} {pb.SessionState.Name(state)}")

    await routed("work_offered", "A-5", 7, "e7-offered")
    await routed("work_assigned", "A-5", 7, "e7-assigned")
    await session_in(pb.SESSION_STATE_CONNECTED)
    await routed("work_assigned", "A-1", 3, "e3-assigned")
    await stack.telephony.EndCall(pb.EndCallRequest(call_id="call-9"), metadata=pbx)
    await routed("work_completed", "", 7, "e7-completed")
    session = await session_in(pb.SESSION_STATE_ENDED)
    await bus.close()
    assert session.agent_id == "A-5"
    assert [t.state for t in session.transitions] == [
        pb.SESSION_STATE_IVR, pb.SESSION_STATE_QUEUED, pb.SESSION_STATE_OFFERED, pb.SESSION_STATE_CONNECTED,
        pb.SESSION_STATE_WRAP_UP, pb.SESSION_STATE_ENDED]
