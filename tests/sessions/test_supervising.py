"""A supervisor steps into a conversation: a whisper (a note for staff, never the customer) and a
leg on a connected call (recorded on the session and handed to the PBX adapter as a command)."""

from __future__ import annotations

import grpc
import pytest

from omni.runtime.auth import Role
from omnichannel.routing.v1.events_pb2 import WorkEvent
from omnichannel.routing.v1.routing_pb2 import WorkItem
from omnichannel.sessions.v1 import sessions_pb2 as pb
from tests.sessions.conftest import Stack
from tests.support.events import EventRecorder
from tests.support.polling import eventually


async def connected_call(stack: Stack, call_id: str) -> str:
    pbx = stack.token(Role.SERVICE, "pbx")
    await stack.telephony.StartCall(pb.StartCallRequest(call_id=call_id, ani="13500135000"), metadata=pbx)
    step = await stack.telephony.SubmitIvrInput(pb.SubmitIvrInputRequest(call_id=call_id, digits="0"), metadata=pbx)
    session_id = step.session.id
    bus = await stack.bus()
    work = WorkItem(id=session_id, session_id=session_id, queue_id="general")
    for event_type in ("work_offered", "work_assigned"):
        await bus.publish("routing", event_type, f"work/{session_id}", WorkEvent(work=work, agent_id="A-5"),
                          event_id=f"{session_id}:{event_type}")
    await bus.close()
    boss = stack.token(Role.SUPERVISOR, "S-1", groups=("general",))
    await eventually(lambda: stack.sessions.GetSession(pb.GetSessionRequest(id=session_id), metadata=boss),
                     lambda s: s.state == pb.SESSION_STATE_CONNECTED, what="the call connected")
    return session_id


async def test_a_supervisor_joins_a_connected_call_once_per_request_and_the_pbx_is_told(
        stack: Stack, published: EventRecorder) -> None:
    session_id = await connected_call(stack, "call-sup-1")
    boss = stack.token(Role.SUPERVISOR, "S-1", groups=("general",))
    ask = pb.SuperviseCallRequest(session_id=session_id, mode=pb.CALL_LEG_MODE_BARGE, request_id="r-1")
    command = await stack.telephony.SuperviseCall(ask, metadata=boss)
    again = await stack.telephony.SuperviseCall(ask, metadata=boss)
    assert again.id == command.id
    assert (command.call_id, command.mode, command.supervisor_id, command.agent_id) == (
        "call-sup-1", pb.CALL_LEG_MODE_BARGE, "S-1", "A-5")
    [sent] = await published.wait("call_leg_requested", pb.CallLegCommand)
    assert sent.id == command.id
    session = await stack.sessions.GetSession(pb.GetSessionRequest(id=session_id), metadata=boss)
    legs = [n for n in session.notes if n.kind == pb.SESSION_NOTE_KIND_CALL_LEG]
    assert [n.text for n in legs] == ["S-1 barges in on the call (barge)"]

    for caller, code in ((stack.token(Role.AGENT, "A-5", groups=("general",)), grpc.StatusCode.PERMISSION_DENIED),
                         (boss, grpc.StatusCode.INVALID_ARGUMENT)):
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await stack.telephony.SuperviseCall(pb.SuperviseCallRequest(session_id=session_id, request_id="r-2"),
                                                metadata=caller)
        assert refused.value.code() == code


async def test_a_whisper_is_the_supervisors_and_never_reaches_the_customer(stack: Stack) -> None:
    session_id = await connected_call(stack, "call-sup-2")
    agent = stack.token(Role.AGENT, "A-5", groups=("general",))
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await stack.sessions.AddSessionNote(pb.AddSessionNoteRequest(session_id=session_id, text="psst",
                                                                     whisper=True), metadata=agent)
    assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
    boss = stack.token(Role.SUPERVISOR, "S-1", groups=("general",))
    note = await stack.sessions.AddSessionNote(pb.AddSessionNoteRequest(
        session_id=session_id, text="offer the credit", whisper=True), metadata=boss)
    assert note.kind == pb.SESSION_NOTE_KIND_WHISPER
    seen = await stack.sessions.GetSession(pb.GetSessionRequest(id=session_id), metadata=agent)
    assert [n.text for n in seen.notes if n.kind == pb.SESSION_NOTE_KIND_WHISPER] == ["offer the credit"]
    customer = stack.token(Role.CUSTOMER, "caller", session_id=session_id)
    theirs = await stack.sessions.GetSession(pb.GetSessionRequest(id=session_id), metadata=customer)
    assert list(theirs.notes) == []


async def test_a_call_leg_needs_a_connected_call(stack: Stack) -> None:
    pbx = stack.token(Role.SERVICE, "pbx")
    await stack.telephony.StartCall(pb.StartCallRequest(call_id="call-sup-3", ani="13500135001"), metadata=pbx)
    step = await stack.telephony.SubmitIvrInput(pb.SubmitIvrInputRequest(call_id="call-sup-3", digits="0"),
                                                metadata=pbx)
    with pytest.raises(grpc.aio.AioRpcError) as waiting:
        await stack.telephony.SuperviseCall(pb.SuperviseCallRequest(
            session_id=step.session.id, mode=pb.CALL_LEG_MODE_MONITOR), metadata=stack.token(Role.SUPERVISOR, "S-1"))
    assert waiting.value.code() == grpc.StatusCode.FAILED_PRECONDITION and "connected" in waiting.value.details()
