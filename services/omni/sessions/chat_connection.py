"""One customer chat connection, whatever carries it (gRPC stream or WebSocket).

The first frame starts or resumes the chat; then client frames go to the `ChatDesk` while the
session's live updates (agent replies, agent typing/read, state) go back to the customer.
A bad frame gets an `error` frame and the connection stays up; a refused start or resume (an
expired identity token, say) may be sent again, a few times, on the same connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

from omni.runtime.errors import DomainError, InvalidArgument, ResourceExhausted
from omni.runtime.live_feed import LiveFeed
from omni.sessions import convert
from omni.sessions.chat import ChatDesk, ChatOpened, check_session_claim
from omni.sessions.domain.flood import TokenBucket
from omni.sessions.domain.model import TERMINAL
from omnichannel.common.v1 import common_pb2
from omnichannel.sessions.v1 import sessions_pb2 as pb

log = logging.getLogger("omni.sessions.chat")
Send = Callable[[pb.ChatServerFrame], Awaitable[None]]
# Refused start/resume frames one connection may send before it is closed: enough for a widget
# that fetches a fresh identity token, too few to make the connection a token-guessing oracle.
MAX_OPEN_ATTEMPTS = 10


class ChatConnection:
    def __init__(self, desk: ChatDesk, feed: LiveFeed[pb.SessionUpdate], flood: TokenBucket, *,
                 claimed_session: str = "", trusted: bool = False) -> None:
        self._desk = desk
        self._feed = feed
        self._flood = flood
        # Set when the caller authenticated with a session-bound token (gRPC).
        self._claimed = claimed_session
        # A service caller vouches for the identities it starts chats with.
        self._trusted = trusted

    async def run(self, frames: AsyncIterator[pb.ChatClientFrame], send: Send) -> None:
        opened = await self._opening(frames, send)
        if opened is None:
            return
        session_id = opened.session.id
        async with self._feed.watch(session_id) as updates:
            await send(pb.ChatServerFrame(started=pb.ChatStarted(
                session_id=session_id, session_token=opened.token,
                transcript=[convert.message_to_proto(m) for m in opened.session.messages])))
            forward = asyncio.create_task(self._forward(updates, send), name=f"chat {session_id} out")
            try:
                async for frame in frames:
                    if forward.done() or not await self._handle(session_id, frame, send):
                        break
            finally:
                forward.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await forward

    async def _opening(self, frames: AsyncIterator[pb.ChatClientFrame], send: Send) -> ChatOpened | None:
        """The chat the first accepted start/resume frame opens; None when the client gave up."""
        for _ in range(MAX_OPEN_ATTEMPTS):
            frame = await anext(frames, None)
            if frame is None:
                return None
            try:
                return await self._open(frame)
            except DomainError as exc:
                await send(pb.ChatServerFrame(error=exc.message))
        await send(pb.ChatServerFrame(error=f"{MAX_OPEN_ATTEMPTS} start/resume frames refused; connect again"))
        return None

    async def _open(self, frame: pb.ChatClientFrame) -> ChatOpened:
        kind = frame.WhichOneof("frame")
        if kind == "start":
            if self._claimed:
                check_session_claim(self._claimed, "a new chat")
            start = frame.start
            return await self._desk.start(
                start.handle, start.display_name, start.language,
                [convert.identity_from_proto(i) for i in start.identities], start.previous_session_id,
                start.identity_token, trusted=self._trusted,
            )
        if kind == "resume":
            opened = await self._desk.resume(frame.resume.session_token)
            check_session_claim(self._claimed, opened.session.id)
            return opened
        raise InvalidArgument("the first frame must be 'start' or 'resume'")

    async def _handle(self, session_id: str, frame: pb.ChatClientFrame, send: Send) -> bool:
        """Apply one client frame; False when the chat is over."""
        kind = frame.WhichOneof("frame")
        try:
            if kind == "text":
                if not self._flood.take():
                    raise ResourceExhausted(
                        f"too many messages; this one was not sent, send it again in "
                        f"{self._flood.wait_seconds():.1f}s")
                await self._desk.say(session_id, frame.text.text, frame.text.client_message_id)
            elif kind == "typing":
                await self._desk.typing(session_id)
            elif kind == "read":
                await self._desk.read(session_id, frame.read.message_id)
            elif kind == "end":
                session = await self._desk.end(session_id)
                await send(pb.ChatServerFrame(state=convert.STATES[session.state]))
                return False
            else:
                raise InvalidArgument(f"unexpected '{kind or 'empty'}' frame; the chat has already started")
        except DomainError as exc:
            await send(pb.ChatServerFrame(error=exc.message))
        return True

    async def _forward(self, updates: asyncio.Queue[pb.SessionUpdate | None], send: Send) -> None:
        while True:
            update = await updates.get()
            if update is None:
                await send(pb.ChatServerFrame(error="connection too slow; resume with your session token"))
                return
            # Only these kinds reach the customer: internal notes ("note") are for staff.
            if update.kind == "message":
                await send(pb.ChatServerFrame(message=update.message))
            elif update.kind == "typing" and update.message.direction == common_pb2.DIRECTION_OUTBOUND:
                await send(pb.ChatServerFrame(agent_typing=pb.ChatTyping()))
            elif update.kind == "read" and update.message.direction == common_pb2.DIRECTION_OUTBOUND:
                await send(pb.ChatServerFrame(read=pb.ChatRead(message_id=update.message.id)))
            elif update.kind == "state":
                await send(pb.ChatServerFrame(state=update.session.state))
                if convert.STATES_BACK[update.session.state] in TERMINAL:
                    return
