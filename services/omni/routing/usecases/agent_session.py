"""The agent desktop session: log in, receive offers and presence on the stream, answer with
commands, and go offline if the stream is lost for longer than the grace period."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from omni.routing.domain import access
from omni.routing.domain.agents import Agent
from omni.routing.domain.desktop import (
    Accept,
    AgentShown,
    Command,
    DesktopEvent,
    Heartbeat,
    Login,
    Refused,
    Reject,
    SetState,
    Unreadable,
    WrapUp,
    offered_work_id,
)
from omni.routing.domain.engine import RoutingEngine
from omni.routing.usecases.desktops import Desktop, Desktops
from omni.routing.usecases.engine_room import EngineRoom
from omni.runtime.auth import Principal
from omni.runtime.errors import DomainError, FailedPrecondition, InvalidArgument

log = logging.getLogger("omni.routing")


class AgentSessions:
    def __init__(self, room: EngineRoom, desktops: Desktops, *, desktop_grace: float) -> None:
        self._room = room
        self._desktops = desktops
        self._grace = desktop_grace

    async def session(self, principal: Principal, agent_id: str,
                      commands: AsyncIterator[Command]) -> AsyncIterator[DesktopEvent]:
        """The events for the agent's desktop while `commands` (after the login) are applied in order."""
        access.check_acting_as(principal, agent_id)
        self._room.claims.serve_agent(agent_id)
        self._room.engine.agent(agent_id)
        desktop = self._desktops.open(agent_id)
        agent = await self._room.run(lambda engine: _connected(engine, agent_id))
        self._desktops.greet(desktop, agent)
        reader = asyncio.create_task(self._apply_all(commands, desktop), name=f"desktop {agent_id}")
        try:
            while (event := await desktop.events.get()) is not None:
                yield event
            if reader.done() and not reader.cancelled() and (failure := reader.exception()) is not None:
                raise failure  # INTERNAL for the agent, with the traceback in the log
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await reader
            # Not when the partition moved away: its new owner gives the agent the grace.
            if self._desktops.close(desktop) and self._room.claims.owns_agent(agent_id):
                await self._room.run(lambda engine: engine.agent_disconnected(agent_id, self._grace))

    async def _apply_all(self, commands: AsyncIterator[Command], desktop: Desktop) -> None:
        """A command that fails is answered with an error event and the stream stays open, since
        the agent's other offers and work are still live."""
        agent_id = desktop.agent_id
        try:
            async for command in commands:
                try:
                    await self._apply(agent_id, command, desktop)
                except DomainError as exc:
                    desktop.send(Refused(exc.message))
                except Exception:
                    log.exception("agent %s: the %s command failed", agent_id, command.kind)
                    desktop.send(Refused(f"{command.kind} failed inside routing and was not applied (logged); "
                                         "send it again"))
        finally:
            desktop.close()

    async def _apply(self, agent_id: str, command: Command, desktop: Desktop) -> None:
        run = self._room.run
        match command:
            case SetState(status=status, reason=reason):
                await run(lambda engine: engine.set_agent_status(agent_id, status, reason))
            case Accept(offer_id=offer):
                await run(lambda engine: engine.accept(agent_id, _offered(engine, agent_id, offer)))
            case Reject(offer_id=offer, reason=reason):
                await run(lambda engine: engine.reject(agent_id, _offered(engine, agent_id, offer),
                                                       reason or "rejected"))
            case WrapUp(work_id=work_id, disposition=disposition, note=note):
                await run(lambda engine: engine.complete(agent_id, work_id, disposition, note))
            case Heartbeat():
                desktop.send(AgentShown(self._room.engine.agent(agent_id).snapshot()))
            case Login():
                raise InvalidArgument("already logged in on this stream")
            case Unreadable(problem=problem):
                raise InvalidArgument(problem)


def _connected(engine: RoutingEngine, agent_id: str) -> Agent:
    engine.agent_connected(agent_id)
    return engine.agent(agent_id)


def _offered(engine: RoutingEngine, agent_id: str, offer: str) -> str:
    """The work an offer the agent answers is for, if that offer is still open for them."""
    work_id, attempt = offered_work_id(offer)
    work = engine.live_work(work_id)
    if work is None or str(work.offer_attempts) != attempt or work.offered_agent_id != agent_id:
        raise FailedPrecondition(f"offer {offer} is no longer open for {agent_id} (withdrawn or answered)")
    return work_id
