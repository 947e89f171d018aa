"""Who a web-chat visitor is: only a signed identity token finds the customer.

Sessions and tickets run for real (WebSocket over loopback, NATS, the MongoDB-protocol server):
a visitor who types someone else's email, or names someone else's session, lands on no one's
record, and staff still see what was claimed."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
from typing import Any

import grpc
import jwt
import pytest
import websockets

from omni.devstack.processes import free_port
from omni.runtime.auth import Role
from omni.runtime.config import ServiceSettings
from omni.sessions.chat_connection import MAX_OPEN_ATTEMPTS
from omni.sessions.domain.chat_identity import mint_identity_token
from omni.sessions.service import SPEC as SESSIONS
from omni.tickets.service import SPEC as TICKETS
from omnichannel.common.v1 import common_pb2
from omnichannel.sessions.v1 import events_pb2
from omnichannel.sessions.v1 import sessions_pb2 as pb
from omnichannel.tickets.v1 import tickets_pb2, tickets_pb2_grpc
from tests.sessions.conftest import IDENTITY_SECRET
from tests.support.polling import eventually
from tests.support.settings import ticket_settings

VICTIM = "li.na@customer.example"


async def _next(ws: Any, key: str) -> Any:
    while True:
        frame = json.loads(await asyncio.wait_for(ws.recv(), 10))
        if key in frame:
            return frame[key]


@pytest.fixture
async def tickets(start_service: Any, settings: ServiceSettings, stack: Any) -> Any:
    """Tickets beside the sessions stack, threading what sessions publishes (its own database)."""
    host = await start_service(TICKETS, settings_override=ticket_settings(settings, database="tickets"))
    channel = grpc.aio.insecure_channel(host.address)
    yield tickets_pb2_grpc.TicketServiceStub(channel)
    await channel.close()


async def _chat(stack: Any, start: dict[str, Any], text: str) -> str:
    """A visitor opens the widget with `start`, writes `text` and leaves; the session id."""
    async with websockets.connect(stack.ws_url) as ws:
        await ws.send(json.dumps({"start": start}))
        session_id = str((await _next(ws, "started"))["session_id"])
        await ws.send(json.dumps({"text": {"text": text}}))
        await _next(ws, "message")
    return session_id


async def _threaded(stack: Any, session_id: str) -> pb.Session:
    """The session once tickets has filed it (customer and ticket known)."""
    staff = stack.token(Role.SUPERVISOR, "S-1")
    session: pb.Session = await eventually(
        lambda: stack.sessions.GetSession(pb.GetSessionRequest(id=session_id), metadata=staff),
        lambda s: s.ticket_id and s.customer.customer_id, what=f"tickets threading session {session_id}")
    return session


def _email(value: str) -> common_pb2.Identity:
    return common_pb2.Identity(kind=common_pb2.IDENTITY_KIND_EMAIL, value=value)


async def test_a_visitor_typing_a_customers_email_lands_on_no_customer_and_staff_see_the_claim(
        stack, tickets, published) -> None:
    supervisor = stack.token(Role.SUPERVISOR, "S-1")
    # The customer, signed in on the company's site: their chat carries a signed identity.
    own = await _chat(stack, {"handle": "web-li", "identity_token": stack.identity_token(email=VICTIM, name="Li Na")},
                      "My invoice INV-88 was charged twice")
    victim = await _threaded(stack, own)
    assert victim.customer.display_name == "Li Na"

    # A stranger types her address and names her session.
    stranger = await _chat(stack, {"handle": "web-stranger", "identities": [
        {"kind": "IDENTITY_KIND_EMAIL", "value": VICTIM.upper()}], "previous_session_id": own},
        "What did I order last month? Read me my invoices")
    [event] = await published.wait("interaction_received", events_pb2.InteractionReceived,
                                   where=lambda e: e.interaction.session_id == stranger)
    assert [(i.kind, i.value) for i in event.interaction.customer.identities] == [
        (common_pb2.IDENTITY_KIND_CHAT_HANDLE, "web-stranger")]
    assert (event.interaction.customer.customer_id, event.interaction.ticket_id,
            event.interaction.previous_session_id) == ("", "", "")

    filed = await _threaded(stack, stranger)
    assert filed.customer.customer_id != victim.customer.customer_id
    assert filed.ticket_id != victim.ticket_id
    assert filed.previous_session_id == ""
    # Staff see what the visitor claimed; the visitor's own view does not carry it.
    assert [(i.kind, i.value) for i in filed.claimed_identities] == [(common_pb2.IDENTITY_KIND_EMAIL, VICTIM.upper())]
    visitor = stack.token(Role.CUSTOMER, "web-stranger", session_id=stranger)
    assert not (await stack.sessions.GetSession(pb.GetSessionRequest(id=stranger), metadata=visitor)).claimed_identities

    # The agent's screen pop for the customer shows nothing of the stranger's, and the customer
    # record did not gain the stranger's handle.
    context = await tickets.GetCustomerContext(tickets_pb2.GetCustomerContextRequest(identity=_email(VICTIM)),
                                               metadata=supervisor)
    assert context.customer.id == victim.customer.customer_id
    assert [i.session_id for i in context.recent_interactions] == [own]
    assert "web-stranger" not in {i.value for i in context.customer.identities}


async def test_a_signed_identity_token_lands_a_later_chat_on_the_same_customer_and_ticket(stack, tickets) -> None:
    first = await _chat(stack, {"handle": "web-laptop", "identity_token": stack.identity_token(
        email=VICTIM, phone="138 0013 8000")}, "My invoice INV-91 is wrong")
    customer = await _threaded(stack, first)
    assert {(i.kind, i.value) for i in customer.customer.identities} >= {
        (common_pb2.IDENTITY_KIND_EMAIL, VICTIM), (common_pb2.IDENTITY_KIND_PHONE, "+8613800138000")}

    # Another device, signed in as the same user by phone alone: same customer, same ticket.
    second = await _chat(stack, {"handle": "web-phone", "identity_token": stack.identity_token(
        phone="+86 138 0013 8000")}, "Any news about my invoice?")
    later = await _threaded(stack, second)
    assert later.previous_session_id == first
    assert (later.customer.customer_id, later.ticket_id) == (customer.customer.customer_id, customer.ticket_id)
    assert not later.claimed_identities


async def test_expired_forged_or_unusable_identity_tokens_are_refused_and_the_connection_stays_usable(
        stack) -> None:
    now = int(time.time())
    expired = jwt.encode({"email": VICTIM, "exp": now - 600}, IDENTITY_SECRET, algorithm="HS256")
    forged = mint_identity_token("someone-elses-key-0123456789abcdefghij", email=VICTIM)
    nameless = mint_identity_token(IDENTITY_SECRET, name="Li Na")
    without_exp = jwt.encode({"email": VICTIM}, IDENTITY_SECRET, algorithm="HS256")
    async with websockets.connect(stack.ws_url) as ws:
        for token, complaint in [(expired, "identity_token expired"),
                                 (forged, "not signed with this chat's identity key"),
                                 (nameless, "needs an 'email' or 'phone' claim"),
                                 (without_exp, '"exp"'),
                                 ("not-a-jwt", "identity_token is invalid")]:
            await ws.send(json.dumps({"start": {"handle": "web-x", "identity_token": token}}))
            assert complaint in await _next(ws, "error")
        # The same connection still starts a chat (here an anonymous one).
        await ws.send(json.dumps({"start": {"handle": "web-x"}}))
        assert (await _next(ws, "started"))["session_id"]


async def test_a_connection_that_keeps_sending_refused_starts_is_closed(stack) -> None:
    async with websockets.connect(stack.ws_url) as ws:
        for _ in range(MAX_OPEN_ATTEMPTS):
            await ws.send(json.dumps({"start": {"handle": "web-x", "identity_token": "guess"}}))
        errors = [await _next(ws, "error") for _ in range(MAX_OPEN_ATTEMPTS + 1)]
        assert "connect again" in errors[-1]
        with pytest.raises(websockets.exceptions.ConnectionClosed):
            await asyncio.wait_for(ws.recv(), 10)


async def test_previous_session_id_is_honoured_for_the_same_handle_only(stack) -> None:
    staff = stack.token(Role.SUPERVISOR, "S-1")
    first = await _chat(stack, {"handle": "web-own"}, "hello")
    again = await _chat(stack, {"handle": "web-own", "previous_session_id": first}, "me again")
    other = await _chat(stack, {"handle": "web-other", "previous_session_id": first}, "let me in")
    missing = await _chat(stack, {"handle": "web-third", "previous_session_id": "S-does-not-exist"}, "hi")

    async def previous(session_id: str) -> str:
        session = await stack.sessions.GetSession(pb.GetSessionRequest(id=session_id), metadata=staff)
        return session.previous_session_id

    assert (await previous(again), await previous(other), await previous(missing)) == (first, "", "")


async def test_the_grpc_chat_with_a_customer_token_follows_the_same_rule(stack, published) -> None:
    customer = stack.token(Role.CUSTOMER, "app-user-3")
    start = pb.ChatStart(handle="app-user-3", identities=[_email(VICTIM)])
    call = stack.chat.Chat(iter([pb.ChatClientFrame(start=start),
                                 pb.ChatClientFrame(text=pb.ChatText(text="hello", client_message_id="m1"))]),
                           metadata=customer)
    while (frame := await asyncio.wait_for(call.read(), 10)).WhichOneof("frame") != "started":
        pass
    [event] = await published.wait("interaction_received", events_pb2.InteractionReceived,
                                   where=lambda e: e.interaction.session_id == frame.started.session_id)
    assert [i.value for i in event.interaction.customer.identities] == ["app-user-3"]


async def test_a_service_token_and_a_trusting_deployment_keep_the_typed_identities(stack, start_service,
                                                                                    published) -> None:
    # The platform's own adapter (service token) vouches for the number it starts a chat with.
    adapter = stack.token(Role.SERVICE, "whatsapp-adapter")
    start = pb.ChatStart(handle="wa-1", identities=[common_pb2.Identity(kind=common_pb2.IDENTITY_KIND_PHONE,
                                                                        value="+86 139 1234 5678")])
    call = stack.chat.Chat(iter([pb.ChatClientFrame(start=start), pb.ChatClientFrame(text=pb.ChatText(text="hi"))]),
                           metadata=adapter)
    while (frame := await asyncio.wait_for(call.read(), 10)).WhichOneof("frame") != "started":
        pass
    [event] = await published.wait("interaction_received", events_pb2.InteractionReceived,
                                   where=lambda e: e.interaction.session_id == frame.started.session_id)
    assert [i.value for i in event.interaction.customer.identities] == ["wa-1", "+86 139 1234 5678"]

    # OMNI_CHAT_TRUST_CLAIMED_IDENTITIES=true: the widget's typed email is trusted as before.
    trusting = dataclasses.replace(stack.settings, grpc_listen=f"127.0.0.1:{free_port()}", smtp_listen="",
                                   websocket_listen=f"127.0.0.1:{free_port()}", chat_trust_claimed_identities=True)
    await start_service(SESSIONS, settings_override=trusting)
    async with websockets.connect(f"ws://{trusting.websocket_listen}/chat") as ws:
        await ws.send(json.dumps({"start": {"handle": "web-intranet", "identities": [
            {"kind": "IDENTITY_KIND_EMAIL", "value": VICTIM}]}}))
        session_id = (await _next(ws, "started"))["session_id"]
        await ws.send(json.dumps({"text": {"text": "hello"}}))
        [event] = await published.wait("interaction_received", events_pb2.InteractionReceived,
                                       where=lambda e: e.interaction.session_id == session_id)
    assert [i.value for i in event.interaction.customer.identities] == ["web-intranet", VICTIM]
