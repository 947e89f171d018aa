"""The widget's chat: relayed frame by frame to the sessions service's chat endpoint, with the
visitor's queue position and estimated wait added while they wait.

The visitor has no account; the session token the `started` frame hands them is their only
credential, and the gateway uses exactly that token to watch their place in the queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Coroutine
from typing import Any

from websockets.asyncio.client import ClientConnection
from websockets.exceptions import WebSocketException

from omni.runtime.auth import bearer
from omni.runtime.errors import DomainError, FailedPrecondition, NotFound, Unavailable
from omni.web import convert
from omni.web.domain.inputs import Json
from omni.web.upstream import Upstream, relay, relay_stream
from omni.web.usecases.live import Send
from omnichannel.routing.v1 import routing_pb2

log = logging.getLogger("omni.web.widget")
# The chat's first message queues it; routing learns of it from an event a moment later.
POSITION_ATTEMPTS = 20
POSITION_RETRY_SECONDS = 0.5
WAITING = "SESSION_STATE_QUEUED"


class WidgetChat:
    def __init__(self, upstream: Upstream) -> None:
        self._up = upstream

    async def run(self, frames: AsyncIterator[Json], send: Send, *, visitor_address: str) -> None:
        try:
            async with self._up.chat(visitor_address) as chat:
                await self._relay(chat, frames, send)
        except (OSError, WebSocketException, TimeoutError) as exc:
            log.warning("chat relay to sessions failed: %s", exc)
            raise Unavailable("the chat service cannot be reached; trying again shortly") from None

    async def _relay(self, chat: ClientConnection, frames: AsyncIterator[Json], send: Send) -> None:
        # The visitor's credential and session, once sessions started (or resumed) the chat.
        visitor = {"token": "", "session_id": ""}

        async def inbound() -> None:
            async for frame in frames:
                if "callback_slots" in frame:
                    await self._slots(visitor["token"], visitor["session_id"], send)
                else:
                    await chat.send(json.dumps(frame))
            await chat.close()

        reader = asyncio.create_task(inbound(), name="widget frames in")
        position: asyncio.Task[None] | None = None
        token = session_id = ""
        try:
            async for raw in chat:
                frame = json.loads(raw)
                await send(frame)
                if "started" in frame:
                    token, session_id = frame["started"]["session_token"], frame["started"]["session_id"]
                    visitor.update(token=token, session_id=session_id)
                    # A resumed chat may be waiting already; a new one is not queued until it speaks.
                    if frame["started"].get("transcript"):
                        position = _restart(position, self._position(token, session_id, send))
                elif frame.get("state") == WAITING and token:
                    position = _restart(position, self._position(token, session_id, send))
                elif "state" in frame and position is not None:
                    position.cancel()
                if reader.done():
                    break
        finally:
            for task in (reader, position):
                if task is not None:
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError, WebSocketException):
                        await task

    async def _slots(self, token: str, session_id: str, send: Send) -> None:
        """`{"callback_slots": ListCallbackSlotsResponse}`: the times the waiting visitor may
        choose for their callback, as routing offers them to this visitor's own token."""
        try:
            if not token:
                raise FailedPrecondition("start the chat first; a callback time is chosen while waiting")
            found = await relay(self._up.routing.ListCallbackSlots(
                routing_pb2.ListCallbackSlotsRequest(work_id=session_id), metadata=bearer(token),
                timeout=self._up.timeout))
        except DomainError as exc:
            await send({"error": exc.message})
            return
        await send({"callback_slots": convert.to_json(found)})

    async def _position(self, token: str, session_id: str, send: Send) -> None:
        """`{"position": QueuePosition}` whenever the visitor's place or estimate changes."""
        request = routing_pb2.WatchPositionRequest(work_id=session_id)
        for _ in range(POSITION_ATTEMPTS):
            try:
                async for position in relay_stream(self._up.routing.WatchPosition(request, metadata=bearer(token))):
                    await send({"position": convert.to_json(position)})
                return
            except NotFound:
                await asyncio.sleep(POSITION_RETRY_SECONDS)
            except DomainError as exc:
                log.info("no queue position for session %s: %s", session_id, exc.message)
                return


def _restart(running: asyncio.Task[None] | None, watch: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
    if running is not None:
        running.cancel()
    return asyncio.create_task(watch, name="widget position")
