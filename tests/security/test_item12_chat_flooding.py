"""Issue 13, item 12: chat flooding.

Before, only chat messages were rate-limited, and only per connection: typing and read frames
each read the whole session and went to every watcher without limit, one address could open any
number of connections (each with a fresh allowance), and any number of chats could pile up in a
queue. Now every frame kind is limited per session and per client address, connections are
capped per session, per address and in all, and a full queue refuses new chats plainly."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
import websockets

from omni.devstack.processes import free_port
from omni.runtime.auth import Role
from omni.sessions.service import SPEC
from omnichannel.sessions.v1 import sessions_pb2 as pb
from tests.sessions.conftest import Stack


async def _next(ws: Any, key: str) -> Any:
    """The next frame carrying `key` (other frames are skipped, and named if it never comes)."""
    skipped: list[str] = []
    try:
        while key not in (frame := json.loads(await asyncio.wait_for(ws.recv(), 10))):
            skipped.append(", ".join(frame))
    except TimeoutError:
        raise AssertionError(f"no {key!r} frame within 10 s; frames meanwhile: {skipped}") from None
    return frame[key]


async def _frame(ws: Any) -> dict[str, Any]:
    frame: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), 10))
    return frame


async def _with(start_service: Any, stack: Stack, **changes: Any) -> Stack:
    """Another sessions service on the stack's database and bus, with other settings."""
    own = dataclasses.replace(stack.settings, websocket_listen=f"127.0.0.1:{free_port()}", smtp_listen="", **changes)
    return dataclasses.replace(stack, host=await start_service(SPEC, settings_override=own), settings=own)


async def test_typing_and_read_floods_reach_the_agent_only_up_to_the_limit(stack: Stack) -> None:
    supervisor = stack.token(Role.SUPERVISOR, "S-1")
    async with websockets.connect(stack.ws_url) as ws:
        await ws.send(json.dumps({"start": {"handle": "web-typist"}}))
        session_id = (await _next(ws, "started"))["session_id"]
        watch = stack.sessions.WatchSession(pb.WatchSessionRequest(session_id=session_id), metadata=supervisor)
        assert (await asyncio.wait_for(watch.read(), 10)).kind == "snapshot"
        for _ in range(40):
            await ws.send(json.dumps({"typing": {}}))
        await ws.send(json.dumps({"text": {"text": "hello?"}}))
        refused = 0
        while "message" not in (frame := await _frame(ws)):
            refused += "typing and read frames" in frame.get("error", "")
        markers = 0
        while (update := await asyncio.wait_for(watch.read(), 10)).kind != "message":
            markers += update.kind == "typing"
        watch.cancel()
    # A burst of 10, then 2 a second (40 frames take well under 3 s, even on a busy machine).
    assert 10 <= markers <= 16 and refused == 40 - markers


@contextlib.asynccontextmanager
async def _connections(url: str, count: int, forwarded_for: str = "") -> AsyncIterator[list[Any]]:
    async with contextlib.AsyncExitStack() as stack:
        headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else None
        yield [await stack.enter_async_context(websockets.connect(url, additional_headers=headers))
               for _ in range(count)]


async def _refusal(ws: Any) -> str:
    """The error a connection over a cap is sent before it is closed."""
    frame = await _frame(ws)
    with pytest.raises(websockets.exceptions.ConnectionClosed):
        await asyncio.wait_for(ws.recv(), 10)
    return str(frame["error"])


async def test_one_address_gets_a_bounded_number_of_connections_and_frames(
        start_service: Any, stack: Stack) -> None:
    async with _connections(stack.ws_url, 20) as held:
        for ws in held:  # 20 open chats from one address...
            await ws.send(json.dumps({"start": {"handle": "web-many"}}))
            await _next(ws, "started")
        async with websockets.connect(stack.ws_url) as one_more:  # ... and not one more
            assert "too many chat connections from your address" in await _refusal(one_more)
        # Behind the web gateway (a trusted proxy), each visitor is its own address.
        async with _connections(stack.ws_url, 5, forwarded_for="203.0.113.7") as visitors:
            await visitors[0].send(json.dumps({"start": {"handle": "web-visitor"}}))
            assert await _next(visitors[0], "started")

    # Every frame an address sends counts, also those its session's own limit refuses: after a
    # burst of 60 (10 a second after), the address is slowed down.
    async with websockets.connect(stack.ws_url) as ws:
        await ws.send(json.dumps({"start": {"handle": "web-flooder"}}))
        await _next(ws, "started")
        for _ in range(100):
            await ws.send(json.dumps({"read": {"message_id": "I-1"}}))
        # (a refused frame gets an error frame; until the address's own refusal comes, the session's)
        while "too many frames from your address" not in await _next(ws, "error"):
            pass

    # From a peer that is no trusted proxy, X-Forwarded-For is ignored: it cannot buy new addresses.
    untrusting = await _with(start_service, stack, chat_trusted_proxies=("10.255.255.1",))
    spoofing = {"X-Forwarded-For": "198.51.100.2"}
    async with (_connections(untrusting.ws_url, 20, forwarded_for="198.51.100.1"),
                websockets.connect(untrusting.ws_url, additional_headers=spoofing) as spoofed):
        assert "too many chat connections from your address" in await _refusal(spoofed)


async def test_connections_are_capped_per_session_and_in_all(start_service: Any, stack: Stack) -> None:
    async with websockets.connect(stack.ws_url) as first:
        await first.send(json.dumps({"start": {"handle": "web-tabs"}}))
        token = (await _next(first, "started"))["session_token"]
        async with _connections(stack.ws_url, 4) as tabs:
            for tab in tabs[:3]:
                await tab.send(json.dumps({"resume": {"session_token": token}}))
                await _next(tab, "started")
            await tabs[3].send(json.dumps({"resume": {"session_token": token}}))
            assert "this chat is open in 4 places already" in await _next(tabs[3], "error")

    small = await _with(start_service, stack, chat_max_connections=2)
    async with (_connections(small.ws_url, 2, forwarded_for="203.0.113.8"),
                websockets.connect(small.ws_url, additional_headers={"X-Forwarded-For": "203.0.113.9"}) as third):
        assert "at capacity" in await _refusal(third)


async def test_chats_writing_at_the_same_moment_are_held_to_the_cap(start_service: Any, stack: Stack) -> None:
    """Before, each chat counted the queue and was only added to the tally once its message's
    events were published, after the customer saw it: chats writing together all passed the
    count, and a chat right after another could too. Now a chat is counted as it passes."""
    small = await _with(start_service, stack, chat_max_waiting_per_queue=2)
    async with _connections(small.ws_url, 5) as chats:
        for n, ws in enumerate(chats):
            await ws.send(json.dumps({"start": {"handle": f"web-together-{n}"}}))
            await _next(ws, "started")
        for ws in chats:
            await ws.send(json.dumps({"text": {"text": "I want a refund"}}))
        answers = await asyncio.gather(*(_first_of(ws, ("message", "error")) for ws in chats))
    assert sorted(kind for kind, _ in answers) == ["error"] * 3 + ["message"] * 2, answers
    assert all("customers are waiting" in text for kind, text in answers if kind == "error"), answers


async def _first_of(ws: Any, keys: tuple[str, ...]) -> tuple[str, Any]:
    """The key and value of the next frame carrying one of `keys`."""
    while True:
        frame = await _frame(ws)
        for key in keys:
            if key in frame:
                return key, frame[key]


async def test_a_full_queue_refuses_new_chats_plainly_and_queues_nothing(start_service: Any, stack: Stack) -> None:
    small = await _with(start_service, stack, chat_max_waiting_per_queue=2)
    supervisor = small.token(Role.SUPERVISOR, "S-1")
    for handle in ("web-q1", "web-q2"):
        async with websockets.connect(small.ws_url) as ws:
            await ws.send(json.dumps({"start": {"handle": handle}}))
            await _next(ws, "started")
            await ws.send(json.dumps({"text": {"text": "I want a refund"}}))
            await _next(ws, "message")
    async with websockets.connect(small.ws_url) as ws:
        await ws.send(json.dumps({"start": {"handle": "web-q3"}}))
        session_id = (await _next(ws, "started"))["session_id"]
        await ws.send(json.dumps({"text": {"text": "I want a refund"}}))
        assert "all our agents are busy and 2 customers are waiting" in await _next(ws, "error")
    session = await small.sessions.GetSession(pb.GetSessionRequest(id=session_id), metadata=supervisor)
    assert session.state == pb.SESSION_STATE_IVR and not session.messages
