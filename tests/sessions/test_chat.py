"""Chat over the WebSocket endpoint and the gRPC stream, agents replying, resume with the token."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import grpc
import pytest
import websockets

from omni.runtime.auth import Role
from omnichannel.common.v1 import common_pb2
from omnichannel.routing.v1.events_pb2 import WorkEvent
from omnichannel.routing.v1.routing_pb2 import WorkItem
from omnichannel.sessions.v1 import events_pb2
from omnichannel.sessions.v1 import sessions_pb2 as pb


async def _next(ws: Any, key: str) -> dict[str, Any]:
    """The next frame carrying `key`, skipping others (echoes, state)."""
    while True:
        frame = json.loads(await asyncio.wait_for(ws.recv(), 10))
        if key in frame:
            return frame[key]


async def _read(call: Any, field: str) -> Any:
    """The next gRPC server frame carrying `field`."""
    while True:
        frame = await asyncio.wait_for(call.read(), 10)
        assert frame != grpc.aio.EOF, f"stream ended before a {field} frame"
        if frame.WhichOneof("frame") == field:
            return getattr(frame, field)


async def test_websocket_chat_with_agent_reply_and_resume_after_a_dropped_connection(stack, published) -> None:
    agent = stack.token(Role.AGENT, "A-1", groups=("billing",))
    async with websockets.connect(stack.ws_url) as ws:
        await ws.send(json.dumps({"start": {"handle": "web-42", "display_name": "Wang Fang",
                                            "identity_token": stack.identity_token(email="w@f.cn")}}))
        started = await _next(ws, "started")
        session_id, token = started["session_id"], started["session_token"]
        await ws.send(json.dumps({"text": {"text": "我的账单扣费两次了", "client_message_id": "c1"}}))
        echo = await _next(ws, "message")
        assert echo["text"] == "我的账单扣费两次了" and echo["direction"] == "DIRECTION_INBOUND"

        [received] = await published.wait("interaction_received", events_pb2.InteractionReceived)
        assert received.interaction.session_id == session_id
        assert (received.interaction.queue, received.interaction.intent, received.interaction.language) == (
            "billing", "billing", "zh")
        assert {i.value for i in received.interaction.customer.identities} == {"web-42", "w@f.cn"}

        await stack.sessions.SendTyping(pb.SendTypingRequest(session_id=session_id), metadata=agent)
        assert await _next(ws, "agent_typing") == {}
        await stack.sessions.SendReply(pb.SendReplyRequest(session_id=session_id, text="我来帮您查一下"),
                                       metadata=agent)
        reply = await _next(ws, "message")
        assert (reply["text"], reply["sender"], reply["direction"]) == ("我来帮您查一下", "A-1", "DIRECTION_OUTBOUND")
    # The connection is gone; the agent's next reply waits in the transcript.
    await stack.sessions.SendReply(pb.SendReplyRequest(session_id=session_id, text="已退款"), metadata=agent)

    async with websockets.connect(stack.ws_url) as ws:
        await ws.send(json.dumps({"resume": {"session_token": token}}))
        resumed = await _next(ws, "started")
        assert resumed["session_id"] == session_id
        assert [m["text"] for m in resumed["transcript"]] == ["我的账单扣费两次了", "我来帮您查一下", "已退款"]
        await ws.send(json.dumps({"text": {"text": "谢谢"}}))
        assert (await _next(ws, "message"))["text"] == "谢谢"

    # The customer's token opens only their own session.
    customer = stack.token(Role.CUSTOMER, "web-42", session_id=session_id)
    own = await stack.sessions.GetSession(pb.GetSessionRequest(id=session_id), metadata=customer)
    assert len(own.messages) == 4


async def test_websocket_rejects_bad_frames_and_forged_tokens_without_dropping(stack) -> None:
    async with websockets.connect(stack.ws_url) as ws:
        await ws.send(json.dumps({"resume": {"session_token": "forged"}}))
        assert "invalid token" in await _next(ws, "error")
    async with websockets.connect(stack.ws_url) as ws:
        await ws.send(json.dumps({"start": {"handle": "web-7"}}))
        await _next(ws, "started")
        await ws.send("not json")
        assert "not a chat frame" in await _next(ws, "error")
        await ws.send(json.dumps({"text": {"text": ""}}))
        assert "text.text is required" in await _next(ws, "error")
        await ws.send(json.dumps({"text": {"text": "still here"}}))
        assert (await _next(ws, "message"))["text"] == "still here"
    with pytest.raises(websockets.exceptions.InvalidStatus):
        async with websockets.connect(stack.ws_url.replace("/chat", "/other")):
            pass


async def _app_chat(stack: Any, handle: str, first_words: str) -> tuple[Any, asyncio.Queue[Any], pb.ChatStarted]:
    """A customer app's chat on the gRPC stream, started and with its first message echoed: the
    call, the queue its frames are sent through (None ends it) and the `started` frame."""
    outgoing: asyncio.Queue[pb.ChatClientFrame | None] = asyncio.Queue()

    async def frames() -> Any:
        while (frame := await outgoing.get()) is not None:
            yield frame

    call = stack.chat.Chat(frames(), metadata=stack.token(Role.CUSTOMER, handle))
    await outgoing.put(pb.ChatClientFrame(start=pb.ChatStart(handle=handle, language="en")))
    started = await _read(call, "started")
    await outgoing.put(pb.ChatClientFrame(text=pb.ChatText(text=first_words, client_message_id="m1")))
    assert (await _read(call, "message")).text == first_words
    return call, outgoing, started


async def test_grpc_chat_stream_with_agent_reply_and_ending(stack, published) -> None:
    call, outgoing, started = await _app_chat(stack, "app-user-9", "My internet is not working!")
    [received] = await published.wait("interaction_received", events_pb2.InteractionReceived)
    assert (received.interaction.intent, received.interaction.queue) == ("technical", "tech_internet")

    agent = stack.token(Role.AGENT, "A-2", groups=("tech_internet",))
    await stack.sessions.SendReply(pb.SendReplyRequest(session_id=started.session_id, text="Restarting your line."),
                                   metadata=agent)
    reply = await _read(call, "message")
    assert reply.text == "Restarting your line."
    assert reply.direction == common_pb2.DIRECTION_OUTBOUND

    await outgoing.put(pb.ChatClientFrame(read=pb.ChatRead(message_id=reply.id)))
    await outgoing.put(pb.ChatClientFrame(end=pb.ChatEnd()))
    while (frame := await call.read()) != grpc.aio.EOF:
        last = frame
    assert last.state == pb.SESSION_STATE_ABANDONED  # nobody had answered on the routing side
    await outgoing.put(None)

    # A token bound to the session cannot be used to start another chat.
    bound = stack.token(Role.CUSTOMER, "app-user-9", session_id=started.session_id)
    other = stack.chat.Chat(iter([pb.ChatClientFrame(start=pb.ChatStart(handle="x"))]), metadata=bound)
    assert "your token is for session" in await _read(other, "error")


async def test_a_reply_sent_before_sessions_hears_of_the_assignment_is_named_once_it_does(stack, published) -> None:
    """The desk hears routing first: an agent may answer before sessions knows they hold the chat.
    The customer sees that reply unnamed, then named when the assignment arrives."""
    call, outgoing, started = await _app_chat(stack, "app-user-11", "My internet is not working!")
    await published.wait("interaction_received", events_pb2.InteractionReceived)

    agent = stack.token(Role.AGENT, "A-2", groups=("tech_internet",))
    sent = await stack.sessions.SendReply(pb.SendReplyRequest(session_id=started.session_id, text="On it."),
                                          metadata=agent)
    first = await _read(call, "message")
    assert (first.id, first.sender_name) == (sent.message.id, "")

    bus = await stack.bus()
    work = WorkItem(id=started.session_id, session_id=started.session_id, queue_id="tech_internet")
    await bus.publish("routing", "work_assigned", f"work/{started.session_id}",
                      WorkEvent(work=work, agent_id="A-2", agent_display_name="Li Wei"),
                      event_id=f"{started.session_id}:assigned")
    await bus.close()
    named = await _read(call, "message")
    assert (named.id, named.text, named.sender_name) == (sent.message.id, "On it.", "Li Wei")
    session = await stack.sessions.GetSession(pb.GetSessionRequest(id=started.session_id), metadata=agent)
    assert [m.sender_name for m in session.messages if m.direction == common_pb2.DIRECTION_OUTBOUND] == ["Li Wei"]
    await outgoing.put(None)


async def test_customer_token_cannot_read_another_session_or_call_agent_methods(stack) -> None:
    async with websockets.connect(stack.ws_url) as ws:
        await ws.send(json.dumps({"start": {"handle": "a"}}))
        first = (await _next(ws, "started"))["session_id"]
    async with websockets.connect(stack.ws_url) as ws:
        await ws.send(json.dumps({"start": {"handle": "b"}}))
        second = (await _next(ws, "started"))["session_id"]
    customer = stack.token(Role.CUSTOMER, "a", session_id=first)
    with pytest.raises(grpc.aio.AioRpcError) as denied:
        await stack.sessions.GetSession(pb.GetSessionRequest(id=second), metadata=customer)
    assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED
    with pytest.raises(grpc.aio.AioRpcError) as denied:
        await stack.sessions.SendReply(pb.SendReplyRequest(session_id=first, text="x"), metadata=customer)
    assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_a_flooding_visitor_is_slowed_down_and_nothing_over_the_limit_is_stored(stack) -> None:
    supervisor = stack.token(Role.SUPERVISOR, "S-1")
    async with websockets.connect(stack.ws_url) as ws:
        await ws.send(json.dumps({"start": {"handle": "web-flood"}}))
        session_id = (await _next(ws, "started"))["session_id"]
        for i in range(25):
            await ws.send(json.dumps({"text": {"text": f"spam {i}"}}))
        echoed, refused = 0, 0
        while echoed + refused < 25:
            frame = json.loads(await asyncio.wait_for(ws.recv(), 10))
            echoed += "message" in frame
            if "error" in frame:
                assert "too many messages" in frame["error"] and "send it again in" in frame["error"]
                refused += 1
    # A burst of 10 goes through, then about one a second (sending 25 frames takes well under 5 s).
    assert 10 <= echoed <= 15 and refused == 25 - echoed
    stored = await stack.sessions.GetSession(pb.GetSessionRequest(id=session_id), metadata=supervisor)
    assert len(stored.messages) == echoed
