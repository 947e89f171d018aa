"""What routing tells a session: offered, connected, back in a queue, over; with the self-service
bots, or handed by them to a person."""

from __future__ import annotations

import logging

from omni.runtime.errors import FailedPrecondition
from omni.sessions.domain.assignment import (
    ASSIGNED,
    OVERFLOWED,
    QUEUED,
    ROUTING_EVENTS,
    TRANSFERRED,
    queue_facts,
    routing_step,
)
from omni.sessions.domain.model import Session
from omni.sessions.repository import SessionRepository
from omni.sessions.usecases.conversations import Conversations
from omni.sessions.usecases.notes import Notes
from omni.sessions.usecases.outbound_calls import OutboundCalls

log = logging.getLogger("omni.sessions.assignment")


class Assignment:
    def __init__(self, conversations: Conversations, repo: SessionRepository, notes: Notes,
                 outbound: OutboundCalls) -> None:
        self._c = conversations
        self._repo = repo
        self._notes = notes
        self._outbound = outbound

    @staticmethod
    def follows(event_type: str) -> bool:
        """Whether a routing event type is one a session follows."""
        return event_type in ROUTING_EVENTS

    async def routed(self, session_id: str, event_type: str, *, agent_id: str, work_agent_id: str, reason: str,
                     work_queue: str, bot_handoff: str | None, event_id: str,
                     callback: tuple[str, bool] | None = None, vip: bool = False,
                     estimated_wait_seconds: float = 0.0) -> None:
        """Apply routing's `event_type` (consumed as `event_id`) to the session. `agent_id`: the
        agent (or bot worker) the event names, `work_agent_id` the work's assigned or offered one;
        `work_queue` the work's queue after the event (a transfer's target moves the session there);
        `bot_handoff`: the bot's reason when the work's latest reason is a bot's handoff; `callback`
        the work's callback number and whether it is the customer's own; `vip` and
        `estimated_wait_seconds` as the work has them (kept for the KPI report)."""
        if event_type == QUEUED:
            await self._repo.mutate(session_id, lambda session: queue_facts(
                session, vip=vip, estimated_wait_seconds=estimated_wait_seconds))
            return
        if event_type == OVERFLOWED:
            await self._repo.mutate(session_id, _with_the_bots)
            return
        if event_type == TRANSFERRED and bot_handoff is not None:
            await self._notes.bot_handoff(session_id, agent_id, bot_handoff, event_id)
        step = routing_step(event_type, agent_id or work_agent_id, reason, work_queue, callback)
        try:
            if event_type == ASSIGNED and await self._outbound.awaits_call(session_id):
                # An agent accepted a callback: the platform dials the customer for them.
                await self._outbound.dial(session_id, agent_id or work_agent_id, event_id)
            else:
                await self._c.move(session_id, step.state, reason=step.reason, agent_id=step.agent_id,
                                   event_id=event_id, change=step.apply)
        except FailedPrecondition as exc:
            # Out of order or stale (the customer already hung up): the session's own record wins.
            log.info("ignoring %s for session %s: %s", event_type, session_id, exc.message)


def _with_the_bots(session: Session) -> None:
    session.self_service = True
