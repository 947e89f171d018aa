"""The desk's live streams: routing's AgentSession (presence, offers with the screen pop,
assignments, wrap-up, which also leaves its note on the session) and one session's WatchSession,
with knowledge suggestions for every customer turn.

Each runs for as long as the browser's WebSocket is open; the browser's frames come in as an
async iterator of checked commands, and what the services send goes out through `send`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

from omni.runtime.auth import bearer
from omni.runtime.errors import DomainError, PermissionDenied
from omni.web import convert
from omni.web.domain.desk_commands import DeskCommand, WrapUp
from omni.web.domain.inputs import Json
from omni.web.domain.work_notes import wrap_up_note, wrap_up_request_id
from omni.web.upstream import Upstream, relay, relay_stream
from omni.web.usecases.callers import Caller
from omni.web.usecases.desk import Desk
from omnichannel.common.v1 import common_pb2
from omnichannel.routing.v1 import routing_pb2
from omnichannel.sessions.v1 import sessions_pb2

log = logging.getLogger("omni.web.live")
Send = Callable[[Json], Awaitable[None]]
# Sessions learns that an agent holds a session from routing's events, after the desk does (under
# a burst of new chats, bench/web_latency.py saw sessions 20 s behind on 2 busy cores): until then
# it refuses the watch to an agent outside the queue's groups. While routing says the work is the
# agent's, sessions is asked again, for at most this long.
ASSIGNMENT_WAIT_SECONDS = 60.0
ASSIGNMENT_RETRY_SECONDS = 0.25


class DeskStream:
    def __init__(self, upstream: Upstream, desk: Desk) -> None:
        self._up = upstream
        self._desk = desk

    async def run(self, caller: Caller, commands: AsyncIterator[DeskCommand], send: Send) -> None:
        agent_id = caller.staff.subject
        # Session of each piece of work routing assigned to this agent on this stream (it sends
        # the work in hand again on every new stream): what a wrap-up's note is written on.
        held: dict[str, str] = {}

        async def outgoing() -> AsyncIterator[routing_pb2.AgentCommand]:
            yield routing_pb2.AgentCommand(login=routing_pb2.AgentLogin(agent_id=agent_id))
            async for command in commands:
                if isinstance(command, WrapUp) and command.work_id in held:
                    await self._note_wrap_up(caller, held.pop(command.work_id), command, send)
                yield convert.agent_command(agent_id, command)

        # Explicit metadata: the channel's interceptors do not reach bidirectional streams.
        call = self._up.routing.AgentSession(outgoing(), metadata=bearer(caller.token))
        try:
            async for event in relay_stream(call):
                if event.WhichOneof("event") == "assigned":
                    if event.assigned.state == routing_pb2.WORK_STATE_ASSIGNED:
                        held[event.assigned.id] = event.assigned.session_id or event.assigned.id
                    else:  # a callback whose call went unanswered left the agent
                        held.pop(event.assigned.id, None)
                await send(convert.agent_event(event))
        finally:
            call.cancel()

    async def _note_wrap_up(self, caller: Caller, session_id: str, wrap_up: WrapUp, send: Send) -> None:
        """Before routing completes the work (it keeps the disposition in its event, the note
        nowhere); the work is completed even when the note cannot be written."""
        try:
            await self._desk.note(caller, session_id, wrap_up_note(wrap_up.disposition, wrap_up.note),
                                  wrap_up_request_id(wrap_up.work_id))
        except DomainError as exc:
            log.warning("the wrap-up note of work %s was not kept: %s", wrap_up.work_id, exc.message)
            await send({"error": f"wrapped up; the wrap-up note was not kept: {exc.message}"})


class SessionWatch:
    def __init__(self, upstream: Upstream, desk: Desk) -> None:
        self._up = upstream
        self._desk = desk

    async def run(self, caller: Caller, session_id: str, work_id: str, send: Send) -> None:
        """Updates as `{"update": SessionUpdate}`; after each customer turn `{"suggestions": [...]}`.

        `work_id`: the routing work the desk opened the session for, if any; while routing says it
        is offered or assigned to the caller, a refusal from sessions is its lag, not its answer."""
        deadline = asyncio.get_running_loop().time() + ASSIGNMENT_WAIT_SECONDS
        while (refused := await self._watch(caller, session_id, send)) is not None:
            if asyncio.get_running_loop().time() >= deadline or not await self._held(caller, work_id, session_id):
                raise refused
            await asyncio.sleep(ASSIGNMENT_RETRY_SECONDS)

    async def _held(self, caller: Caller, work_id: str, session_id: str) -> bool:
        """Whether routing, with the caller's own token, says this work of this session is theirs."""
        if not work_id:
            return False
        try:
            work = await relay(self._up.routing.GetWorkItem(routing_pb2.GetWorkItemRequest(id=work_id),
                                                            metadata=bearer(caller.token), timeout=self._up.timeout))
        except DomainError:
            return False
        return work.session_id == session_id and caller.staff.subject in (work.assigned_agent_id,
                                                                          work.offered_agent_id)

    async def _watch(self, caller: Caller, session_id: str, send: Send) -> PermissionDenied | None:
        """Relays the watch until it ends; sessions' refusal when it came before the first update."""
        call = self._up.sessions.WatchSession(sessions_pb2.WatchSessionRequest(session_id=session_id),
                                              metadata=bearer(caller.token))
        suggesting: asyncio.Task[None] | None = None
        opened = False
        try:
            async for update in relay_stream(call):
                opened = True
                await send({"update": convert.to_json(update)})
                turn = _customer_turn(update)
                if turn is not None:
                    # The newest turn wins: an answer still being looked up for an older one is dropped.
                    if suggesting is not None:
                        suggesting.cancel()
                    suggesting = asyncio.create_task(self._suggest(caller, update.session, turn, send))
        except PermissionDenied as refused:
            if opened:
                raise  # the session left the agent's sight while they watched
            return refused
        finally:
            call.cancel()
            if suggesting is not None:
                suggesting.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await suggesting
        return None

    async def _suggest(self, caller: Caller, session: sessions_pb2.Session, text: str, send: Send) -> None:
        try:
            hits = await self._desk.suggestions(caller, text, session.id, session.queue)
        except DomainError as exc:
            # Suggestions help; their absence must not end the agent's view of the conversation.
            log.warning("suggestions for session %s failed: %s", session.id, exc.message)
            return
        await send({"suggestions": hits})


def _customer_turn(update: sessions_pb2.SessionUpdate) -> str | None:
    """The customer's text to suggest articles for: a new inbound message, or the last one of the opening snapshot."""
    if update.kind == "message" and update.message.direction == common_pb2.DIRECTION_INBOUND:
        return update.message.text or None
    if update.kind == "snapshot":
        inbound = [m.text for m in update.session.messages if m.direction == common_pb2.DIRECTION_INBOUND and m.text]
        return inbound[-1] if inbound else None
    return None
