"""What every channel does with a session: open it (linked to the customer's previous one),
record messages, move its state, and tell the bus and the watchers.

Order of effects: MongoDB first, then the event, then live watchers. A failed publish fails the
caller's request (SMTP 451, an RPC error), and the retry finds the stored message by its key
and publishes it again under the same event id, so nothing is lost and nothing doubles.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable

from omni.runtime.channels import Channel
from omni.runtime.clock import utcnow
from omni.runtime.errors import FailedPrecondition, InvalidArgument
from omni.runtime.live_feed import LiveFeed
from omni.sessions import convert
from omni.sessions.domain.classifier import Classifier
from omni.sessions.domain.ivr import ContactFlow
from omni.sessions.domain.model import Direction, Identity, Message, Note, Session, State, new_id
from omni.sessions.publishing import SessionEvents
from omni.sessions.repository import SessionRepository
from omnichannel.sessions.v1.sessions_pb2 import SessionUpdate


@dataclasses.dataclass(frozen=True)
class Moved:
    session: Session
    previous: State
    changed: bool


class Conversations:
    def __init__(
        self,
        repo: SessionRepository,
        events: SessionEvents,
        feed: LiveFeed[SessionUpdate],
        classifier: Classifier,
        flow: ContactFlow,
        *,
        link_window: dt.timedelta,
        max_text_chars: int,
        clock: Callable[[], dt.datetime] = utcnow,
    ) -> None:
        self.repo = repo
        self.events = events
        self.feed = feed
        self.classifier = classifier
        self.flow = flow
        self.link_window = link_window
        self.max_text_chars = max_text_chars
        self.clock = clock

    def check_text(self, text: str, field: str) -> str:
        if len(text) > self.max_text_chars:
            raise InvalidArgument(f"{field} is {len(text)} characters; the limit is {self.max_text_chars}")
        return text

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
        now = self.clock()
        if previous is None and previous_session_id:
            previous = await self.repo.get(previous_session_id)
        if previous is None:
            previous = await self.repo.latest_for(identities, now - self.link_window, exclude=session_id)
        session = Session.open(channel, identities, now, state=state, display_name=display_name,
                               language=language, previous=previous)
        session.id = session_id or session.id
        session.attributes.update(attributes or {})
        session.claimed_identities = list(claimed_identities or [])
        await self.repo.insert(session)
        return session

    def inbound(self, session: Session, text: str, *, sender: str = "", request_id: str = "") -> Message:
        """A customer message (not yet stored); classifies it into the session."""
        session.note(self.classifier.classify(text))
        return Message(
            id=new_id("I"),
            direction=Direction.INBOUND,
            sender=sender or _customer_label(session),
            text=text,
            time=self.clock(),
            request_id=request_id,
        )

    async def announce(self, session: Session, message: Message, *, interaction: bool = True) -> None:
        if interaction:
            await self.events.interaction_received(session, message)
        await self._show(session.id, SessionUpdate(
            session=convert.session_to_proto(session), message=convert.message_to_proto(message), kind="message"))

    async def move(
        self,
        session_id: str,
        state: State,
        *,
        reason: str,
        agent_id: str | None = None,
        event_id: str = "",
        change: Callable[[Session], None] | None = None,
    ) -> Moved:
        """Change a session's state (and agent), publishing the change.

        `event_id`: the consumed event causing it; a redelivery applies nothing twice but
        publishes the change again (same event id) in case the first publish was lost.
        """

        def apply(session: Session) -> tuple[State, bool]:
            previous = session.state
            if event_id and not session.mark_applied(event_id):
                return previous, False
            changed = session.move(state, self.clock(), reason)
            if agent_id is not None and agent_id != session.agent_id:
                session.agent_id = agent_id
                changed = True
            if change is not None:
                change(session)
            return previous, changed

        session, (previous, changed) = await self.repo.mutate(session_id, apply)
        if changed or (event_id and session.state == state):
            await self.publish_state(session, previous, reason)
        return Moved(session, previous, changed)

    async def publish_state(self, session: Session, previous: State, reason: str) -> None:
        await self.events.state_changed(session, previous, reason)
        await self._show(session.id, SessionUpdate(session=convert.session_to_proto(session), kind="state"))

    async def add_note(self, session_id: str, note: Note) -> Note:
        """Record an internal note (once per request_id) and show it to whoever watches.

        No interaction event: a note is not something said to the customer, and nothing sent to
        the customer (chat frames, the customer's WatchSession) carries "note" updates."""
        session, stored = await self.repo.mutate(session_id, lambda current: current.add_note(note))
        await self._show(session.id, SessionUpdate(
            session=convert.session_to_proto(session), note=convert.note_to_proto(stored), kind="note"))
        return stored

    async def signal(self, session: Session, kind: str, direction: Direction, message_id: str = "") -> None:
        """Typing / read markers: live only, never stored as messages."""
        marker = Message(id=message_id, direction=direction, sender="", text="", time=self.clock())
        await self._show(session.id, SessionUpdate(message=convert.message_to_proto(marker), kind=kind))

    async def _show(self, session_id: str, update: SessionUpdate) -> None:
        await self.feed.publish(session_id, update.SerializeToString())


def require_open(session: Session) -> None:
    if session.terminal:
        raise FailedPrecondition(f"session {session.id} is {session.state.value}; start a new conversation")


def _customer_label(session: Session) -> str:
    return session.display_name or (session.identities[0].value if session.identities else "customer")

