"""Who may see or act on a session: a customer only their own; an agent what is assigned to
them or waiting in their groups' queues; a self-service bot what is with the bots; supervisors,
admins and services everything.

The rule is written once, as data (`sight`): the in-memory checks below and the ListSessions
filter (which `repository.py` translates into a query) both read that one description.
"""

from __future__ import annotations

import dataclasses

from omni.runtime.auth import MANAGERS, Principal, Role
from omni.runtime.errors import PermissionDenied
from omni.sessions.domain.model import Session
from omni.sessions.domain.updates import Update, UpdateKind

# Callers who read a conversation but not what staff keep about it.
_NOT_STAFF = frozenset({Role.CUSTOMER, Role.BOT})


@dataclasses.dataclass(frozen=True)
class Sight:
    """The sessions someone sees: those with one of `session_ids`, handled by one of `agent_ids`,
    waiting in one of `queues`, or (`self_service`) with the self-service bots; nothing else."""

    session_ids: frozenset[str] = frozenset()
    agent_ids: frozenset[str] = frozenset()
    queues: frozenset[str] = frozenset()
    self_service: bool = False

    def admits(self, session: Session) -> bool:
        return (session.id in self.session_ids or session.agent_id in self.agent_ids or session.queue in self.queues
                or (self.self_service and session.self_service))


def sight(principal: Principal) -> Sight | None:
    """The sessions `principal` sees; None for all of them."""
    if principal.role is Role.CUSTOMER:
        return Sight(session_ids=frozenset({principal.session_id} - {""}))
    if principal.role is Role.BOT:
        # From routing's overflow until a bot hands the customer to a person (or they leave).
        return Sight(self_service=True)
    if principal.role in MANAGERS:
        return None
    # An empty group names no queue: a session in none (still in the IVR) is seen only through its agent.
    return Sight(agent_ids=frozenset({principal.subject}), queues=frozenset(principal.groups) - {""})


def may_view(principal: Principal, session: Session) -> bool:
    seen = sight(principal)
    return seen is None or seen.admits(session)


def check_list(principal: Principal) -> None:
    if principal.role in _NOT_STAFF:
        raise PermissionDenied(f"{principal.role}s cannot list sessions; use GetSession with a session id")


def check_still_viewable(principal: Principal, update: Update) -> None:
    """A watch ends when a state change takes the session out of the watcher's sight (an agent
    outside its queue's groups whose session was handed to someone else)."""
    session = update.session
    if update.kind is UpdateKind.STATE and session is not None and not may_view(principal, session):
        raise PermissionDenied(f"session {session.id} is now handled by '{session.agent_id or 'nobody yet'}' "
                               f"in queue '{session.queue}'; you no longer see it")


def check_view(principal: Principal, session: Session) -> None:
    if not may_view(principal, session):
        if principal.role is Role.CUSTOMER:
            raise PermissionDenied(f"session {session.id} is not your conversation")
        if principal.role is Role.BOT:
            raise PermissionDenied(f"session {session.id} is not with the self-service bots")
        raise PermissionDenied(
            f"session {session.id} is in queue '{session.queue}' and handled by "
            f"'{session.agent_id or 'nobody yet'}'; you are not in that queue's groups"
        )


def check_survey_answer(principal: Principal, session_id: str) -> None:
    """A survey is answered by the contact's own customer only: not staff on their behalf, not
    another customer's token."""
    if principal.role is not Role.CUSTOMER or principal.session_id != session_id:
        raise PermissionDenied(f"only the customer of session {session_id} answers its survey")


def check_agent(principal: Principal, session: Session) -> None:
    """Replying or changing state: staff who may see it, and not while another agent holds it."""
    check_view(principal, session)
    if principal.role is Role.AGENT and session.agent_id and session.agent_id != principal.subject:
        raise PermissionDenied(f"session {session.id} is handled by agent {session.agent_id}, not you")


def check_assignee(principal: Principal, session: Session, agent_id: str) -> None:
    """Naming the session's agent: an agent names only themselves; supervisors, admins and services anyone."""
    if agent_id and principal.role is Role.AGENT and agent_id != principal.subject:
        raise PermissionDenied(f"you may name only yourself as the agent of session {session.id}, not {agent_id}; "
                               "transfer the work (TransferWork) or ask a supervisor")


def as_seen_by(principal: Principal, session: Session) -> Session:
    """The session as `principal` may read it: a customer or a bot reads the conversation without
    the part kept for staff (internal notes, identities typed without proof)."""
    if principal.role not in _NOT_STAFF:
        return session
    return dataclasses.replace(session, notes=[], claimed_identities=[])


def update_as_seen_by(principal: Principal, update: Update) -> Update | None:
    """A live update as `principal` may read it; None when it is not for them (a note, for a customer or a bot)."""
    if principal.role not in _NOT_STAFF:
        return update
    if update.kind is UpdateKind.NOTE:
        return None
    if update.session is None:
        return update
    return dataclasses.replace(update, session=as_seen_by(principal, update.session))


def check_chat_binding(caller: Principal | None, session_id: str) -> None:
    """A customer token is bound to one session: it may not open or resume another. A WebSocket
    visitor (no token) and a service are bound to none."""
    bound = caller.session_id if caller is not None and caller.role is Role.CUSTOMER else ""
    if bound and bound != session_id:
        raise PermissionDenied(f"your token is for session {bound}, not {session_id}")


def vouches_for_identities(caller: Principal | None) -> bool:
    """A service token is one of the platform's own (a messaging adapter that knows the customer's
    number, like the PBX's ANI): the identities it starts a chat with are trusted. A customer token
    proves only its session, so a customer follows the web widget's rule."""
    return caller is not None and caller.role is Role.SERVICE


def carries_many_customers(caller: Principal | None) -> bool:
    """A service's chat stream (a messaging adapter) carries many customers from one address: it is
    held to the per-session flood limits, not to those of one client address."""
    return caller is not None and caller.role is Role.SERVICE
