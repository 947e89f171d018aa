"""Who may see or act on a session: a customer only their own; an agent what is assigned to
them or waiting in their groups' queues; supervisors, admins and services everything."""

from __future__ import annotations

from omni.runtime.auth import MANAGERS, Principal, Role
from omni.runtime.errors import PermissionDenied
from omni.sessions.domain.model import Session
from omnichannel.sessions.v1.sessions_pb2 import SessionUpdate


def _may_view(principal: Principal, session_id: str, queue: str, agent_id: str) -> bool:
    if principal.role is Role.CUSTOMER:
        return principal.session_id == session_id
    if principal.role in MANAGERS:
        return True
    return agent_id == principal.subject or (bool(queue) and principal.may_see_group([queue]))


def may_view(principal: Principal, session: Session) -> bool:
    return _may_view(principal, session.id, session.queue, session.agent_id)


def check_still_viewable(principal: Principal, update: SessionUpdate) -> None:
    """A watch ends when a state change takes the session out of the watcher's sight (an agent
    outside its queue's groups whose session was handed to someone else)."""
    session = update.session
    if update.kind == "state" and not _may_view(principal, session.id, session.queue, session.agent_id):
        raise PermissionDenied(f"session {session.id} is now handled by '{session.agent_id or 'nobody yet'}' "
                               f"in queue '{session.queue}'; you no longer see it")


def check_view(principal: Principal, session: Session) -> None:
    if not may_view(principal, session):
        if principal.role is Role.CUSTOMER:
            raise PermissionDenied(f"session {session.id} is not your conversation")
        raise PermissionDenied(
            f"session {session.id} is in queue '{session.queue}' and handled by "
            f"'{session.agent_id or 'nobody yet'}'; you are not in that queue's groups"
        )


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
