"""Two sessions replicas on one NATS and one database: a chat and a mail thread served by either,
as a load balancer in front of them would mix them."""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import json
import smtplib
import time

import grpc
import websockets

from omni.devstack.processes import free_port
from omni.runtime.auth import Role
from omni.sessions.service import SPEC
from omnichannel.sessions.v1 import events_pb2, sessions_pb2_grpc
from omnichannel.sessions.v1 import sessions_pb2 as pb
from tests.sessions.conftest import Stack
from tests.sessions.test_chat import _next
from tests.sessions.test_email import _customer_mail, _customer_reply, _send
from tests.support.events import EventRecorder


def _deliver(port: int) -> None:
    """The customer's mail, sent as a mail server does: a temporary refusal (4xx: the other replica
    is storing the same mail this very moment) is tried again."""
    for _ in range(5):
        try:
            _send(port, _customer_mail())
            return
        except smtplib.SMTPResponseException as exc:
            if not 400 <= exc.smtp_code < 500:
                raise
            time.sleep(0.2)
    raise AssertionError(f"the mail was refused for now five times on port {port}")


async def second_replica(start_service: object, stack: Stack) -> Stack:
    """Another sessions process with the first one's settings (NATS, database, keys) but listeners
    of its own."""
    own = dataclasses.replace(stack.settings, smtp_listen=f"127.0.0.1:{free_port()}",
                              websocket_listen=f"127.0.0.1:{free_port()}")
    host = await start_service(SPEC, settings_override=own)  # type: ignore[operator]
    return Stack(host, own, stack.authority, grpc.aio.insecure_channel(host.address), stack.sink)


async def test_a_chat_moves_between_replicas_and_agents_answer_through_either(
        start_service: object, stack: Stack, published: EventRecorder) -> None:
    other = await second_replica(start_service, stack)
    agent = stack.token(Role.AGENT, "A-1", groups=("billing",))
    try:
        async with websockets.connect(stack.ws_url) as ws:
            await ws.send(json.dumps({"start": {"handle": "web-17", "display_name": "Zhou"}}))
            started = await _next(ws, "started")
            session_id, token = started["session_id"], started["session_token"]
            await ws.send(json.dumps({"text": {"text": "my invoice is wrong", "client_message_id": "c1"}}))
            await _next(ws, "message")
            # The agent's reply goes through the other replica; the customer sees it live here.
            await other.sessions.SendReply(pb.SendReplyRequest(session_id=session_id, text="Looking now"),
                                           metadata=agent)
            assert (await _next(ws, "message"))["text"] == "Looking now"

        # The page reloads and the load balancer picks the other replica: the chat resumes there.
        async with websockets.connect(other.ws_url) as ws:
            await ws.send(json.dumps({"resume": {"session_token": token}}))
            resumed = await _next(ws, "started")
            assert resumed["session_id"] == session_id
            assert [m["text"] for m in resumed["transcript"]] == ["my invoice is wrong", "Looking now"]
            # A message the widget resends after the reconnect (same client id) is echoed, kept once.
            await ws.send(json.dumps({"text": {"text": "my invoice is wrong", "client_message_id": "c1"}}))
            assert (await _next(ws, "message"))["text"] == "my invoice is wrong"
            await ws.send(json.dumps({"text": {"text": "thanks", "client_message_id": "c2"}}))
            assert (await _next(ws, "message"))["text"] == "thanks"
            await stack.sessions.SendReply(pb.SendReplyRequest(session_id=session_id, text="Fixed"),
                                           metadata=agent)
            assert (await _next(ws, "message"))["text"] == "Fixed"

        seen = await other.sessions.GetSession(pb.GetSessionRequest(id=session_id), metadata=agent)
        assert [m.text for m in seen.messages] == ["my invoice is wrong", "Looking now", "thanks", "Fixed"]
        # Each customer message and each reply is one interaction, whichever replica took it.
        said = await published.wait("interaction_received", events_pb2.InteractionReceived,
                                    lambda e: e.interaction.session_id == session_id, count=4)
        assert sorted(collections.Counter(e.interaction.text for e in said).values()) == [1, 1, 1, 1]
    finally:
        await other.channel.close()


async def test_one_mail_delivered_to_both_replicas_is_one_interaction(
        start_service: object, stack: Stack, published: EventRecorder) -> None:
    other = await second_replica(start_service, stack)
    try:
        # The sending server retries on the other replica (say after a timeout): both get the mail.
        await asyncio.gather(asyncio.to_thread(_deliver, stack.smtp_port), asyncio.to_thread(_deliver, other.smtp_port))
        await asyncio.to_thread(_send, other.smtp_port, _customer_reply())
        events = await published.wait("interaction_received", events_pb2.InteractionReceived,
                                      lambda e: e.interaction.email.message_id == "<second-2@customer.cn>")
        received = published.payloads("interaction_received", events_pb2.InteractionReceived)
        assert len({e.interaction.id for e in received}) == 2
        # The reply, taken by the other replica, joins the session the first mail opened.
        assert {e.interaction.session_id for e in received} == {events[0].interaction.session_id}
        agent = stack.token(Role.AGENT, "A-1", groups=("billing",))
        listed = await sessions_pb2_grpc.SessionServiceStub(other.channel).GetSession(
            pb.GetSessionRequest(id=events[0].interaction.session_id), metadata=agent)
        assert len(listed.messages) == 2 and "Any news?" in listed.messages[-1].text
    finally:
        await other.channel.close()
