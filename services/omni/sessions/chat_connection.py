"""One customer chat connection, whatever carries it (gRPC stream or WebSocket).

The first frame starts or resumes the chat; then client frames go to the `ChatDesk` while the
session's live updates (agent replies, agent typing/read, state) go back to the customer.
A bad frame gets an `error` frame and the connection stays up; a refused start or resume (an
expired identity token, say) may be sent again, a few times, on the same connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import AsyncIterator, Awaitable, Callable

from omni.runtime.auth import Principal
from omni.runtime.errors import DomainError, InvalidArgument, ResourceExhausted
from omni.sessions import convert
from omni.sessions.domain.flood import ChatLine
from omni.sessions.usecases.chat import ChatDesk, ChatOpened
from omnichannel.sessions.v1 import sessions_pb2 as pb

Send = Callable[[pb.ChatServerFrame], Awaitable[None]]
# Refused start/resume frames one connection may send before it is closed: enough for a widget
# that fetches a fresh identity token, too few to make the connection a token-guessing oracle.
MAX_OPEN_ATTEMPTS = 10


class ChatConnection:
    def __init__(self, desk: ChatDesk, caller: Principal | None, address: str) -> None:
        """`caller`: the principal of the gRPC stream's token; None for a WebSocket visitor.
        `address`: the client's address, for the per-address limits."""
        self._desk = desk
        self._caller = caller
        self._address = address

    async def run(self, frames: AsyncIterator[pb.ChatClientFrame], send: Send) -> None:
        send = _one_at_a_time(send)
        try:
            with self._desk.connection(self._caller, self._address) as line:
                await self._serve(line, frames, send)
        except ResourceExhausted as exc:  # one connection too many: said once, then closed
            await send(pb.ChatServerFrame(error=exc.message))

    async def _serve(self, line: ChatLine, frames: AsyncIterator[pb.ChatClientFrame], send: Send) -> None:
        opened = await self._opening(line, frames, send)
        if opened is None:
            return
        session_id = opened.session.id
        async with self._desk.follow(session_id) as updates:

            async def forward() -> None:
                async for update in updates:
                    if update is None:
                        await send(pb.ChatServerFrame(error="connection too slow; resume with your session token"))
                        return
                    for frame in convert.chat_frames(update):
                        await send(frame)

            await send(pb.ChatServerFrame(started=pb.ChatStarted(
                session_id=session_id, session_token=opened.token,
                agent_display_name=opened.session.agent_name if opened.session.agent_id else "",
                transcript=[convert.message_to_proto(m) for m in opened.session.messages])))
            forwarding = asyncio.create_task(forward(), name=f"chat {session_id} out")
            try:
                async for frame in frames:
                    if forwarding.done() or not await self._handle(line, frame, send):
                        break
            finally:
                forwarding.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await forwarding

    async def _opening(self, line: ChatLine, frames: AsyncIterator[pb.ChatClientFrame],
                       send: Send) -> ChatOpened | None:
        """The chat the first accepted start/resume frame opens; None when the client gave up."""
        for _ in range(MAX_OPEN_ATTEMPTS):
            frame = await anext(frames, None)
            if frame is None:
                return None
            try:
                return await self._open(line, frame)
            except DomainError as exc:
                await send(pb.ChatServerFrame(error=exc.message))
        await send(pb.ChatServerFrame(error=f"{MAX_OPEN_ATTEMPTS} start/resume frames refused; connect again"))
        return None

    async def _open(self, line: ChatLine, frame: pb.ChatClientFrame) -> ChatOpened:
        kind = frame.WhichOneof("frame")
        if kind == "start":
            start = frame.start
            return await self._desk.start(
                line, self._caller, start.handle, start.display_name, start.language,
                [convert.identity_from_proto(i) for i in start.identities], start.previous_session_id,
                start.identity_token,
            )
        if kind == "resume":
            return await self._desk.resume(line, self._caller, frame.resume.session_token)
        raise InvalidArgument("the first frame must be 'start' or 'resume'")

    async def _handle(self, line: ChatLine, frame: pb.ChatClientFrame, send: Send) -> bool:
        """Apply one client frame; False when the chat is over."""
        kind = frame.WhichOneof("frame")
        try:
            if kind == "text":
                await self._desk.say(line, frame.text.text, frame.text.client_message_id)
            elif kind == "typing":
                await self._desk.typing(line)
            elif kind == "read":
                await self._desk.read(line, frame.read.message_id)
            elif kind == "callback":
                due = frame.callback.due_time.ToDatetime(dt.UTC) if frame.callback.HasField("due_time") else None
                number = await self._desk.callback(line, due)
                await send(pb.ChatServerFrame(callback_booked=pb.ChatCallbackBooked(number=number)))
            elif kind == "end":
                session = await self._desk.end(line)
                await send(pb.ChatServerFrame(state=convert.STATES[session.state]))
                return False
            else:
                raise InvalidArgument(f"unexpected '{kind or 'empty'}' frame; the chat has already started")
        except DomainError as exc:
            await send(pb.ChatServerFrame(error=exc.message))
        return True


def _one_at_a_time(send: Send) -> Send:
    """`send` for two writers: the session's updates go out from their own task while the reply to a
    client frame (an error, the last state) goes out from the reading one, and a gRPC stream refuses
    a write started before the last one finished."""
    lock = asyncio.Lock()

    async def locked(frame: pb.ChatServerFrame) -> None:
        async with lock:
            await send(frame)

    return locked
