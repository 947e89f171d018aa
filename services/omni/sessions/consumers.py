"""Events sessions consumes: tickets tells it a session's ticket and customer; routing moves
the session through offered → connected → ended, and a self-service bot's handoff becomes a note."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

from omni.runtime.errors import FailedPrecondition, NotFound
from omni.runtime.events import Delivery, PermanentError, unpack
from omni.sessions.conversations import Conversations
from omni.sessions.domain.model import Note, NoteKind, Session, State, new_id
from omnichannel.routing.v1.events_pb2 import WorkEvent
from omnichannel.tickets.v1.events_pb2 import InteractionThreaded

log = logging.getLogger("omni.sessions.consumers")

# Routing event → the session state it means (and whether it names the agent).
WORK_STATES: dict[str, tuple[State, bool]] = {
    "work_offered": (State.OFFERED, True),
    "offer_rejected": (State.QUEUED, False),
    "offer_timed_out": (State.QUEUED, False),
    "work_assigned": (State.CONNECTED, True),
    "work_transferred": (State.QUEUED, False),
    "work_abandoned": (State.ABANDONED, False),
    "work_completed": (State.ENDED, False),
}
# work_overflowed adds no state: it marks the session as with the self-service bots.
WORK_EVENTS = (*WORK_STATES, "work_overflowed")
TICKET_EVENTS = ("interaction_threaded",)


class SessionConsumers:
    def __init__(self, conversations: Conversations) -> None:
        self._c = conversations

    async def on_ticket_event(self, delivery: Delivery) -> None:
        threaded = unpack(delivery.envelope, InteractionThreaded)
        if not threaded.session_id:
            raise PermanentError(f"interaction_threaded {delivery.envelope.id} has no session_id")

        def learn(session: Session) -> None:
            session.ticket_id = threaded.ticket_id or session.ticket_id
            session.customer_id = threaded.customer_id or session.customer_id

        with _known_session():
            await self._c.repo.mutate(threaded.session_id, learn)

    async def on_work_event(self, delivery: Delivery) -> None:
        event_type = delivery.envelope.type
        if event_type not in WORK_EVENTS:
            return
        event = unpack(delivery.envelope, WorkEvent)
        session_id = event.work.session_id or event.work.id
        if not session_id:
            raise PermanentError(f"{event_type} {delivery.envelope.id} names no session")
        if event_type == "work_overflowed":
            with _known_session():
                await self._c.repo.mutate(session_id, _with_the_bots)
            return
        if event_type == "work_transferred" and (handoff := bot_handoff_reason(event)) is not None:
            await self._bot_handoff_note(session_id, event.agent_id, handoff, delivery.envelope.id)
        state, names_agent = WORK_STATES[event_type]
        agent_id = (event.agent_id or event.work.assigned_agent_id or event.work.offered_agent_id) if names_agent \
            else ("" if state is State.QUEUED else None)
        reason = event.reason or event_type.replace("_", " ")
        # A transfer (a bot's handoff included) puts the session back in a queue for people.
        change = _back_with_people if event_type == "work_transferred" else None
        try:
            with _known_session():
                await self._c.move(session_id, state, reason=reason, agent_id=agent_id,
                                   event_id=delivery.envelope.id, change=change)
        except FailedPrecondition as exc:
            # Out of order or stale (the customer already hung up): the session's own record wins.
            log.info("ignoring %s for session %s: %s", event_type, session_id, exc.message)

    async def _bot_handoff_note(self, session_id: str, worker_id: str, reason: str, event_id: str) -> None:
        # Keyed by the event: a redelivery finds the note and adds none.
        note = Note(id=new_id("N"), kind=NoteKind.BOT_HANDOFF, author_id=worker_id or "routing",
                    text=f"handed to a person by the bot: {reason}", create_time=self._c.clock(), request_id=event_id)
        with _known_session():
            await self._c.add_note(session_id, note)


@contextlib.contextmanager
def _known_session() -> Iterator[None]:
    """An event about a session that does not exist can never apply: dead-letter it."""
    try:
        yield
    except NotFound as exc:
        raise PermanentError(exc.message) from exc


def _with_the_bots(session: Session) -> None:
    session.self_service = True


def _back_with_people(session: Session) -> None:
    session.self_service = False


def bot_handoff_reason(event: WorkEvent) -> str | None:
    """The bot's reason when a transfer is a self-service bot handing the customer to a person."""
    reasons = event.work.reasons
    # Routing's handoff ends the reasons with bot_handoff; an agent's transfer starts them afresh with
    # "transfer", so an earlier handoff of the same work does not count again.
    if reasons and reasons[-1].code == "bot_handoff":
        return reasons[-1].detail or event.reason
    return None
