"""Issue 13, items 6-11 together on the real stack (`omni run`'s processes): a steady stream of mail
(SMTP) and chats (WebSocket) while tickets, sessions and NATS are each killed with SIGKILL and
started again. Afterwards every mail and chat message was stored once, every session's state
event is on the stream, every interaction was threaded, and no customer waited more than 10 s
after the restart that concerned them.

Senders behave as real ones do: an MTA tries again after a 4xx or a lost connection; the widget
resumes its chat with its session token and sends its message again under the same id."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import signal
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import websockets

from omni.devstack.processes import ManagedProcess, wait_for_port
from omni.devstack.stack import DevStack, StackInfo, wait_serving
from omni.runtime.events import EventBus, stream_name, unpack
from omnichannel.common.v1.event_pb2 import EventEnvelope
from omnichannel.sessions.v1 import events_pb2 as session_events
from omnichannel.tickets.v1 import events_pb2 as ticket_events
from tests.security.test_item10_no_lost_state_event import _deliver, _mail

RUN_SECONDS = 28.0
KILLS = (("tickets", 4.0), ("sessions", 12.0), ("nats", 20.0))
DOWN_SECONDS = 1.5
MAX_DELAY_AFTER_RESTART = 10.0


@dataclasses.dataclass
class Contact:
    key: str  # a mail's Message-ID, a chat message's text
    first_try: float
    done: float = 0.0


@pytest.fixture
async def chaos_stack(tmp_path: Path) -> AsyncIterator[tuple[DevStack, StackInfo]]:
    stack = DevStack(tmp_path, ephemeral=True)
    try:
        info = await asyncio.to_thread(stack.start)
        await stack.seed()
        yield stack, info
    finally:
        await asyncio.to_thread(stack.stop)


@pytest.mark.slow
@pytest.mark.soak
@pytest.mark.timeout(400)
async def test_mail_and_chats_survive_tickets_sessions_and_nats_killed_mid_stream(
        chaos_stack: tuple[DevStack, StackInfo]) -> None:
    stack, info = chaos_stack
    processes = {p.name: p for p in [*stack.infrastructure, *stack.services]}
    started = time.time()
    contacts: list[Contact] = []
    back_at: list[float] = []

    async def mails() -> None:
        n = 0
        while time.time() - started < RUN_SECONDS:
            mail = _mail(10_000 + n)
            del mail["Message-ID"]
            mail["Message-ID"] = f"<chaos-{n}@customer.cn>"
            contact = Contact(mail["Message-ID"], time.time())
            contacts.append(contact)
            await asyncio.to_thread(_deliver, info.ports["smtp"], mail)
            contact.done = time.time()
            n += 1
            await asyncio.sleep(0.3)

    async def chats() -> None:
        n = 0
        while time.time() - started < RUN_SECONDS:
            contact = Contact(f"chaos chat {n}", time.time())
            contacts.append(contact)
            await _chat(f"ws://127.0.0.1:{info.ports['websocket']}/chat", n, contact.key)
            contact.done = time.time()
            n += 1
            await asyncio.sleep(0.6)

    async def chaos() -> None:
        for name, at in KILLS:
            await asyncio.sleep(max(0.0, started + at - time.time()))
            await asyncio.to_thread(_kill_and_restart, processes[name], info)
            back_at.append(time.time())

    await asyncio.gather(mails(), chats(), chaos())
    assert len(back_at) == len(KILLS)

    bus = await EventBus.connect(info.nats_url, "test-chaos")
    try:
        expected = {c.key for c in contacts}
        received = await _settled(bus, expected)
        interactions = {key: ids for key, ids in received.items() if key in expected}
        # Stored once: one interaction per mail and per chat message, however often it was sent.
        assert {key: len(ids) for key, ids in interactions.items()} == dict.fromkeys(expected, 1)
        sessions_events = await _events(bus, "sessions")
        changed = {unpack(e, session_events.SessionStateChanged).session.id for e in sessions_events
                   if e.type == "session_state_changed"}
        sessions = {unpack(e, session_events.InteractionReceived).interaction.session_id for e in sessions_events
                    if e.type == "interaction_received" and _key(e) in expected}
        assert sessions <= changed, f"no state event for {sorted(sessions - changed)}"

        threaded_at = await _threaded(bus, {i for ids in interactions.values() for i in ids})
        delays = {}
        for contact in contacts:
            [interaction_id] = interactions[contact.key]
            at = threaded_at[interaction_id]
            since = max([contact.first_try, *(b for b in back_at if b <= at)])
            delays[contact.key] = at - since
        worst = max(delays.items(), key=lambda kv: kv[1])
        assert worst[1] <= MAX_DELAY_AFTER_RESTART, f"{worst[0]} waited {worst[1]:.1f}s after the restart"
        print(f"\n{len(contacts)} contacts, restarts at {[round(b - started, 1) for b in back_at]} s, "
              f"longest wait after a restart {worst[1]:.1f}s")
    finally:
        await bus.close()


def _kill_and_restart(process: ManagedProcess, info: StackInfo) -> None:
    assert process.process is not None
    process.process.send_signal(signal.SIGKILL)
    process.process.wait()
    time.sleep(DOWN_SECONDS)
    process.start()
    assert process.process is not None
    if process.name == "nats":
        wait_for_port(info.ports["nats"], process.process, "nats-server")
    else:
        wait_serving(info.addresses[process.name])


async def _chat(url: str, n: int, text: str, *, within: float = 120.0) -> None:
    """A widget's chat: start (or resume), send one message, until it is shown back as stored."""
    token = ""
    deadline = time.monotonic() + within
    while True:
        try:
            async with websockets.connect(url, open_timeout=5) as ws:
                opening = {"resume": {"session_token": token}} if token else {"start": {"handle": f"chaos-{n}"}}
                await ws.send(json.dumps(opening))
                token = (await _frame(ws, "started"))["session_token"]
                await ws.send(json.dumps({"text": {"text": text, "client_message_id": f"c-{n}"}}))
                await _frame(ws, "message")
                return
        except (OSError, TimeoutError, websockets.exceptions.WebSocketException):
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.3)


async def _frame(ws: websockets.ClientConnection, kind: str) -> dict[str, str]:
    while True:
        frame = json.loads(await asyncio.wait_for(ws.recv(), 15))
        if kind in frame:
            return dict(frame[kind])


def _key(envelope: EventEnvelope) -> str:
    interaction = unpack(envelope, session_events.InteractionReceived).interaction
    return interaction.email.message_id or interaction.text


async def _events(bus: EventBus, domain: str) -> list[EventEnvelope]:
    stream = stream_name(domain)
    state = (await bus.js.stream_info(stream)).state
    return [EventEnvelope.FromString((await bus.js.get_msg(stream, seq)).data)
            for seq in range(state.first_seq, state.last_seq + 1) if state.last_seq]


async def _settled(bus: EventBus, expected: set[str], within: float = 120.0) -> dict[str, set[str]]:
    """Contact key → the ids of the interactions stored for it, once every contact has one."""
    deadline = time.monotonic() + within
    while True:
        found: dict[str, set[str]] = {}
        for envelope in await _events(bus, "sessions"):
            if envelope.type == "interaction_received":
                interaction = unpack(envelope, session_events.InteractionReceived).interaction
                found.setdefault(_key(envelope), set()).add(interaction.id)
        if expected <= set(found) or time.monotonic() > deadline:
            return found
        await asyncio.sleep(0.5)


async def _threaded(bus: EventBus, interaction_ids: set[str], within: float = 120.0) -> dict[str, float]:
    """Interaction id → when tickets published its threading (the event's time)."""
    deadline = time.monotonic() + within
    while True:
        found = {}
        for envelope in await _events(bus, "tickets"):
            if envelope.type == "interaction_threaded":
                threaded = unpack(envelope, ticket_events.InteractionThreaded)
                found.setdefault(threaded.interaction_id, envelope.occurred_at.ToNanoseconds() / 1e9)
        if interaction_ids <= set(found):
            return found
        assert time.monotonic() < deadline, f"never threaded: {sorted(interaction_ids - set(found))[:10]}"
        await asyncio.sleep(0.5)
