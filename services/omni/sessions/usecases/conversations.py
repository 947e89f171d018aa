"""What every channel does with a session: open it (linked to the customer's previous one),
record messages, move its state, and tell the bus and the watchers.

Order of effects: one MongoDB write stores the change together with its events (the outbox),
then live watchers are told, then the events are published. A failed publish fails the caller's
request (SMTP 451, an RPC error); the retry finds the stored change by its key and publishes
what is still pending (`replay`), and the outbox relay publishes it anyway if nobody retries (a
process killed between the write and the publish), so nothing is lost and nothing doubles.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Callable, Sequence
from typing import TypeVar

from omni.runtime import fencing
from omni.runtime.channels import Channel
from omni.runtime.clock import utcnow
from omni.runtime.storage import Document
from omni.sessions.domain.changes import Before, Change
from omni.sessions.domain.classifier import Classifier
from omni.sessions.domain.model import Direction, Identity, Message, Session, State, TranscriptLimits, new_id
from omni.sessions.domain.updates import Update, UpdateKind
from omni.sessions.publishing import LiveUpdates, SessionEvents
from omni.sessions.repository import SessionRepository

log = logging.getLogger("omni.sessions.conversations")

T = TypeVar("T")


@dataclasses.dataclass(frozen=True)
class Moved:
    session: Session
    previous: State
    changed: bool


class Conversations:
    def __init__(self, repo: SessionRepository, events: SessionEvents, live: LiveUpdates, classifier: Classifier,
                 *, link_window: dt.timedelta, transcript: TranscriptLimits) -> None:
        self._repo = repo
        self._events = events
        self._live = live
        self._classifier = classifier
        self._link_window = link_window
        self._transcript = transcript

    async def open(
        self,
        channel: Channel,
        identities: list[Identity],
        *,
        state: State = State.IVR,
        display_name: str = "",
        language: str = "",
        previous_session_id: str = "",
        previous: Session | None = None,
        attributes: dict[str, str] | None = None,
        session_id: str = "",
        claimed_identities: list[Identity] | None = None,
    ) -> Session:
        """A new session, linked to the customer's previous one (given, or found by identity)."""
        now = utcnow()
        if previous is None and previous_session_id:
            previous = await self._repo.get(previous_session_id)
        if previous is None:
            previous = await self._repo.latest_for(identities, now - self._link_window, exclude=session_id)
        session = Session.open(channel, identities, now, state=state, display_name=display_name,
                               language=language, previous=previous)
        session.id = session_id or session.id
        session.attributes.update(attributes or {})
        session.claimed_identities = list(claimed_identities or [])
        await self._repo.insert(session)
        return session

    def inbound(self, session: Session, text: str, *, sender: str = "", request_id: str = "") -> Message:
        """A customer message (not yet stored); classifies it into the session."""
        found = self._classifier.classify(text)
        session.note(found)
        return Message(
            id=new_id("I"),
            direction=Direction.INBOUND,
            sender=sender or session.customer_label(),
            text=text,
            time=utcnow(),
            request_id=request_id,
            emotion_score=found.emotion_score,
        )

    def intent_of(self, text: str) -> str:
        return self._classifier.classify(text).intent

    def add(self, session: Session, message: Message) -> None:
        """Add a message to the session (in a change), keeping the transcript within its limits."""
        session.add_message(message, self._transcript)

    async def record(self, session_id: str, change: Callable[[Session], T], *,
                     events: Callable[[Session, T], Sequence[Document]] | None = None) -> tuple[Session, T]:
        """Apply `change` to the session in one write with the events it makes (a message added is
        an interaction, a transition a state change, plus `events` of the result), then tell the
        watchers and publish the events."""

        def apply(session: Session) -> tuple[tuple[T, Change], list[Document]]:
            before = Before.of(session)
            result = change(session)
            made = before.change(session)
            entries = self._events.of_change(session, made)
            if events is not None:
                entries.extend(events(session, result))
            return (result, made), entries

        recorded = await self._repo.record(session_id, apply)
        result, made = recorded.result
        # Watchers first: the change is stored, and what they are shown (a chat's own message
        # echoed back to it) need not wait for the bus.
        await self._show(recorded.session, made)
        await self._events.publish(recorded.session.id, recorded.pending)
        return recorded.session, result

    async def _show(self, session: Session, change: Change) -> None:
        light = session.without_transcript()
        # A message named later is shown again: watchers replace it by its id.
        for message in (*change.messages, *change.named):
            await self._live.show(session.id, Update(UpdateKind.MESSAGE, session=light, message=message))
        if change.moved:
            await self._live.show(session.id, Update(UpdateKind.STATE, session=light))

    async def replay(self, session: Session, message: Message) -> None:
        """A retried request whose message was stored before: publish what is still pending (its
        interaction, its state change) and show the message to the watchers again."""
        await self._events.publish(session.id, await self._repo.pending(session.id))
        await self.show_again(session, message)

    async def show_again(self, session: Session, message: Message) -> None:
        """Show the watchers a message they have seen, as it is now (they replace it by its id)."""
        await self._live.show(session.id, Update(UpdateKind.MESSAGE, session=session.without_transcript(),
                                                 message=message))

    async def move(
        self,
        session_id: str,
        state: State,
        *,
        reason: str,
        agent_id: str | None = None,
        agent_name: str = "",
        event_id: str = "",
        change: Callable[[Session], None] | None = None,
        fence: tuple[str, int] = ("", 0),
    ) -> Moved:
        """Change a session's state (and agent), publishing the change.

        `event_id`: the consumed event causing it; a redelivery applies nothing twice but
        publishes what the first delivery left pending. `fence`: the (partition, epoch) routing
        decided it under; an event of an epoch older than one applied before changes nothing.
        """

        def apply(session: Session) -> tuple[State, bool]:
            previous = session.state
            if event_id and not session.mark_applied(event_id):
                return previous, False
            if not fencing.admits(session.routing_epochs, *fence):
                log.info("session %s: dropped %s from routing partition %s epoch %d, older than epoch %d",
                         session.id, event_id, fence[0], fence[1], session.routing_epochs[fence[0]])
                return previous, False
            changed = session.move(state, utcnow(), reason)
            if agent_id is not None and session.hand_to(agent_id, agent_name):
                changed = True
            if change is not None:
                change(session)
            return previous, changed

        session, (previous, changed) = await self.record(session_id, apply)
        return Moved(session, previous, changed)

    async def signal(self, session_id: str, kind: UpdateKind, direction: Direction, message_id: str = "") -> None:
        """Typing / read markers: live only, never stored as messages."""
        marker = Message(id=message_id, direction=direction, sender="", text="", time=utcnow())
        await self._live.show(session_id, Update(kind, message=marker))

    async def link_ticket(self, session_id: str, ticket_id: str, customer_id: str) -> None:
        """Tickets filed the session's interactions: remember its ticket and customer."""

        def learn(session: Session) -> None:
            session.ticket_id = ticket_id or session.ticket_id
            session.customer_id = customer_id or session.customer_id

        await self._repo.mutate(session_id, learn)
