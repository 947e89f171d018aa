"""Sessions as staff (and a customer, their own) read, follow and handle them: SessionService
apart from replies and notes."""

from __future__ import annotations

from collections.abc import AsyncGenerator

from omni.runtime.auth import Principal
from omni.runtime.errors import NotFound
from omni.runtime.paging import Page, PageRequest
from omni.runtime.validation import require
from omni.sessions.domain.access import (
    as_seen_by,
    check_agent,
    check_assignee,
    check_list,
    check_still_viewable,
    check_view,
    sight,
    update_as_seen_by,
)
from omni.sessions.domain.model import Attachment, Direction, Session, SessionFilter, State
from omni.sessions.domain.updates import Update, UpdateKind
from omni.sessions.publishing import LiveUpdates
from omni.sessions.repository import SessionRepository
from omni.sessions.usecases.conversations import Conversations


class Sessions:
    def __init__(self, conversations: Conversations, repo: SessionRepository, live: LiveUpdates, *,
                 list_max_bytes: int) -> None:
        self._c = conversations
        self._repo = repo
        self._live = live
        self._list_max_bytes = list_max_bytes

    async def get(self, principal: Principal, session_id: str) -> Session:
        session = await self._repo.get(session_id)
        check_view(principal, session)
        return as_seen_by(principal, session)

    async def list(self, principal: Principal, wanted: SessionFilter, page: PageRequest) -> Page[Session]:
        """The sessions `wanted` asks for among those `principal` sees, newest first."""
        check_list(principal)
        return await self._repo.list(wanted, sight(principal), page, self._list_max_bytes)

    async def watch(self, principal: Principal, session_id: str) -> AsyncGenerator[Update, None]:
        """The session as it is, then its updates as `principal` may see them, until it ends or
        leaves their sight (PERMISSION_DENIED) or they fall too far behind."""
        session_id = require(session_id, "session_id")
        async with self._live.watch(session_id) as updates:
            session = await self._repo.get(session_id)
            check_view(principal, session)
            yield Update(UpdateKind.SNAPSHOT, session=as_seen_by(principal, session))
            if session.terminal:
                return
            while (update := await updates.get()) is not None:
                check_still_viewable(principal, update)
                visible = update_as_seen_by(principal, update)
                if visible is not None:
                    yield visible
                if update.ends_conversation:
                    return

    async def change_state(self, principal: Principal, session_id: str, state: State, *, reason: str,
                           agent_id: str, ticket_id: str) -> Session:
        session = await self._repo.get(require(session_id, "session_id"))
        check_agent(principal, session)
        check_assignee(principal, session, agent_id)

        def set_ticket(current: Session) -> None:
            if ticket_id:
                current.ticket_id = ticket_id

        moved = await self._c.move(session.id, state, reason=reason or "changed by " + principal.subject,
                                   agent_id=agent_id or None, change=set_ticket)
        return moved.session

    async def typing(self, principal: Principal, session_id: str) -> None:
        session = await self._repo.get(require(session_id, "session_id"))
        check_agent(principal, session)
        await self._c.signal(session.id, UpdateKind.TYPING, Direction.OUTBOUND)

    async def mark_read(self, principal: Principal, session_id: str, message_id: str) -> None:
        session = await self._repo.get(require(session_id, "session_id"))
        check_agent(principal, session)
        message_id = require(message_id, "message_id")
        if not any(m.id == message_id for m in session.messages):
            raise NotFound(f"message {message_id} is not in session {session.id}")
        await self._c.signal(session.id, UpdateKind.READ, Direction.OUTBOUND, message_id)

    async def attachment(self, principal: Principal, session_id: str, attachment_id: str) -> tuple[Attachment, bytes]:
        """An attachment's description and stored content (empty when it was too large to keep)."""
        session = await self._repo.get(require(session_id, "session_id"))
        check_view(principal, session)
        attachment_id = require(attachment_id, "attachment_id")
        meta = next((a for m in session.messages for a in m.attachments if a.id == attachment_id), None)
        if meta is None:
            raise NotFound(f"attachment {attachment_id} is not in session {session.id}")
        return meta, await self._repo.attachment_content(attachment_id) or b""
