"""Internal notes: written by staff on a session, or by routing's self-service bot when it hands
the customer to a person.

No interaction event: a note is not something said to the customer, and nothing sent to the
customer (chat frames, the customer's WatchSession) carries "note" updates.
"""

from __future__ import annotations

import logging

from omni.runtime.auth import Principal
from omni.runtime.clock import utcnow
from omni.runtime.errors import ResourceExhausted
from omni.runtime.validation import check_length, require
from omni.sessions.domain.access import check_agent
from omni.sessions.domain.model import Direction, Note, NoteKind, TextLimit, new_id
from omni.sessions.domain.summary import Summary, Turn, summarise
from omni.sessions.domain.updates import Update, UpdateKind
from omni.sessions.publishing import LiveUpdates
from omni.sessions.repository import SessionRepository

log = logging.getLogger("omni.sessions.notes")


class Notes:
    def __init__(self, repo: SessionRepository, live: LiveUpdates, limit: TextLimit, *, max_notes: int) -> None:
        self._repo = repo
        self._live = live
        self._limit = limit
        self._max_notes = max_notes

    async def add(self, principal: Principal, session_id: str, text: str, request_id: str,
                  kind: NoteKind = NoteKind.STAFF) -> Note:
        """A staff note (or the summary kept at wrap-up), by whoever may reply to the session (also
        after it ended); once per request_id."""
        session = await self._repo.get(require(session_id, "session_id"))
        check_agent(principal, session)
        text = self._limit.check(require(text, "text"), "text")
        note = Note(id=new_id("N"), kind=kind, author_id=principal.subject, text=text,
                    create_time=utcnow(), request_id=check_length(request_id, "request_id", 200))
        return await self._record(session.id, note)

    async def draft_summary(self, principal: Principal, session_id: str) -> Summary:
        """The draft for wrap-up, for whoever may write the session's notes; stores nothing."""
        session = await self._repo.get(require(session_id, "session_id"))
        check_agent(principal, session)
        turns = [Turn(customer=m.direction is Direction.INBOUND, text=m.text) for m in session.messages if m.text]
        return summarise(turns, session.language)

    async def bot_handoff(self, session_id: str, worker_id: str, reason: str, event_id: str) -> None:
        # Keyed by the event: a redelivery finds the note and adds none.
        note = Note(id=new_id("N"), kind=NoteKind.BOT_HANDOFF, author_id=worker_id or "routing",
                    text=f"handed to a person by the bot: {reason[:self._limit.max_chars]}", create_time=utcnow(),
                    request_id=event_id)
        try:
            await self._record(session_id, note)
        except ResourceExhausted as exc:
            # The handoff itself goes on; only its note has no room (and waiting would not make any).
            log.warning("bot handoff note of session %s not kept: %s", session_id, exc.message)

    async def _record(self, session_id: str, note: Note) -> Note:
        """Record a note (the one recorded first, on a retry) and show it to whoever watches."""
        session, stored = await self._repo.mutate(session_id, lambda current: current.add_note(note, self._max_notes))
        await self._live.show(session.id, Update(UpdateKind.NOTE, session=session.without_transcript(), note=stored))
        return stored
