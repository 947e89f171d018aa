"""Internal notes on a session: routing's bot handoff recorded once however often it is
delivered, notes agents add, and none of it ever reaching the customer."""

from __future__ import annotations

import asyncio
import json
import smtplib
from email.message import EmailMessage
from typing import Any

import grpc
import pytest
import websockets

from omni.runtime.auth import Role
from omni.runtime.events import subject_for
from omnichannel.common.v1 import common_pb2
from omnichannel.routing.v1.events_pb2 import WorkEvent
from omnichannel.routing.v1.routing_pb2 import RoutingReason, WorkItem
from omnichannel.sessions.v1 import events_pb2
from omnichannel.sessions.v1 import sessions_pb2 as pb
from tests.support.polling import eventually

WHY = "customer said article en-refund-request did not help and asked for a person"


async def _frames_until(ws: Any, text: str) -> list[dict[str, Any]]:
    """Every frame the customer's chat receives up to the message saying `text`."""
    frames = []
    while True:
        frame = json.loads(await asyncio.wait_for(ws.recv(), 10))
        frames.append(frame)
        if frame.get("message", {}).get("text") == text:
            return frames


async def _updates_until(watch: Any, text: str) -> list[pb.SessionUpdate]:
    """Every WatchSession update up to the message saying `text`."""
    updates = []
    while True:
        update = await asyncio.wait_for(watch.read(), 10)
        assert update != grpc.aio.EOF, "the watch ended"
        updates.append(update)
        if update.kind == "message" and update.message.text == text:
            return updates


async def test_a_bot_handoff_is_one_note_for_staff_however_often_delivered_and_never_for_the_customer(
        stack, published) -> None:
    agent = stack.token(Role.AGENT, "A-1", groups=("billing",))
    async with websockets.connect(stack.ws_url) as ws:
        await ws.send(json.dumps({"start": {"handle": "web-5"}}))
        started = json.loads(await ws.recv())["started"]
        session_id, token = started["session_id"], started["session_token"]
        await ws.send(json.dumps({"text": {"text": "How do I get a refund?", "client_message_id": "c1"}}))
        await published.wait("interaction_received", events_pb2.InteractionReceived)
        customer = stack.token(Role.CUSTOMER, "web-5", session_id=session_id)
        staff_watch = stack.sessions.WatchSession(pb.WatchSessionRequest(session_id=session_id), metadata=agent)
        customer_watch = stack.sessions.WatchSession(pb.WatchSessionRequest(session_id=session_id),
                                                     metadata=customer)
        for watch in (staff_watch, customer_watch):
            assert (await watch.read()).kind == "snapshot"

        bus = await stack.bus()
        work = WorkItem(id=session_id, session_id=session_id, queue_id="billing", reasons=[
            RoutingReason(code="overflow", detail="1 waiting >= 1"), RoutingReason(code="bot_handoff", detail=WHY)])
        handoff = await bus.publish("routing", "work_transferred", f"work/{session_id}",
                                    WorkEvent(work=work, agent_id="bot-0/1", reason=WHY),
                                    event_id=f"{session_id}:work_transferred:0:0:1")
        # The broker delivering it again (its ack was lost): the same event under another publish id.
        await bus.js.publish(subject_for("routing", "work_transferred"), handoff.SerializeToString(),
                             headers={"Nats-Msg-Id": handoff.id + ":redelivered"})
        # An agent's transfer after the handoff is no bot handoff, whatever reasons came before.
        transferred = WorkItem(id=session_id, session_id=session_id, queue_id="billing", reasons=[
            RoutingReason(code="transfer", detail="needs a specialist")])
        await bus.publish("routing", "work_transferred", f"work/{session_id}",
                          WorkEvent(work=transferred, agent_id="A-9", reason="needs a specialist"),
                          event_id=f"{session_id}:work_transferred:0:1:1")
        # Handled in order: once A-1 has the offer, the three deliveries before it were handled.
        await bus.publish("routing", "work_offered", f"work/{session_id}", WorkEvent(work=work, agent_id="A-1"),
                          event_id=f"{session_id}:work_offered:1:1:1")
        session = await eventually(
            lambda: stack.sessions.GetSession(pb.GetSessionRequest(id=session_id), metadata=agent),
            lambda s: s.state == pb.SESSION_STATE_OFFERED, what="the session offered to A-1 (routing's events applied)")

        [note] = session.notes
        assert (note.kind, note.author_id, note.text) == (
            pb.SESSION_NOTE_KIND_BOT_HANDOFF, "bot-0/1", f"handed to a person by the bot: {WHY}")
        assert not (await stack.sessions.GetSession(pb.GetSessionRequest(id=session_id), metadata=customer)).notes

        # What each side had received by the time an agent's reply arrives after the note.
        await stack.sessions.SendReply(pb.SendReplyRequest(session_id=session_id, text="Hello, I'm Ana."),
                                       metadata=agent)
        staff_updates = await _updates_until(staff_watch, "Hello, I'm Ana.")
        assert [u.note.text for u in staff_updates if u.kind == "note"][:1] == [note.text]
        customer_updates = await _updates_until(customer_watch, "Hello, I'm Ana.")
        assert all(u.kind != "note" and not u.session.notes for u in customer_updates)
        chat_frames = await _frames_until(ws, "Hello, I'm Ana.")
        assert "handed to a person" not in json.dumps(chat_frames, ensure_ascii=False)
        for watch in (staff_watch, customer_watch):
            watch.cancel()
        await bus.close()

    async with websockets.connect(stack.ws_url) as ws:
        await ws.send(json.dumps({"resume": {"session_token": token}}))
        resumed = json.loads(await ws.recv())["started"]
        assert [m["text"] for m in resumed["transcript"]] == ["How do I get a refund?", "Hello, I'm Ana."]
        assert "handed to a person" not in json.dumps(resumed, ensure_ascii=False)


def _send_mail(port: int) -> None:
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = "li.wei@customer.cn", "support@example.com", "Refund"
    mail["Message-ID"] = "<note-1@customer.cn>"
    mail.set_content("Please refund my second charge.")
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
        client.send_message(mail)


async def test_agents_note_sessions_they_may_answer_and_the_note_is_never_mailed(stack, published) -> None:
    await asyncio.to_thread(_send_mail, stack.smtp_port)
    [received] = await published.wait("interaction_received", events_pb2.InteractionReceived)
    session_id = received.interaction.session_id
    agent = stack.token(Role.AGENT, "A-7", groups=("billing",))

    request = pb.AddSessionNoteRequest(session_id=session_id, text=" Customer was charged twice; refund approved. ",
                                       request_id="n-1")
    note = await stack.sessions.AddSessionNote(request, metadata=agent)
    assert (note.kind, note.author_id, note.text) == (
        pb.SESSION_NOTE_KIND_STAFF, "A-7", "Customer was charged twice; refund approved.")
    assert (await stack.sessions.AddSessionNote(request, metadata=agent)).id == note.id  # a retry adds nothing
    supervisor = stack.token(Role.SUPERVISOR, "S-1")
    session = await stack.sessions.GetSession(pb.GetSessionRequest(id=session_id), metadata=supervisor)
    assert [n.id for n in session.notes] == [note.id] and len(session.messages) == 1
    assert stack.sink.messages == []
    assert not [e for e in published.envelopes if e.type == "interaction_received"
                and e.id != received.interaction.id]
    assert received.interaction.direction == common_pb2.DIRECTION_INBOUND

    refusals = [
        (stack.token(Role.AGENT, "A-8", groups=("sales",)), "x", grpc.StatusCode.PERMISSION_DENIED, "not in that"),
        (stack.token(Role.CUSTOMER, "li.wei@customer.cn", session_id=session_id), "x",
         grpc.StatusCode.PERMISSION_DENIED, ""),
        (agent, "   ", grpc.StatusCode.INVALID_ARGUMENT, "text is required"),
        (agent, "x" * (stack.settings.max_text_chars + 1), grpc.StatusCode.INVALID_ARGUMENT, "the limit is"),
    ]
    for metadata, text, code, fragment in refusals:
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await stack.sessions.AddSessionNote(pb.AddSessionNoteRequest(session_id=session_id, text=text),
                                                metadata=metadata)
        assert refused.value.code() == code and fragment in (refused.value.details() or "")
