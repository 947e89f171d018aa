"""Who may see or act on a session: a customer only their own; an agent what is assigned to
them or waiting in their groups' queues; supervisors, admins and services everything."""

from __future__ import annotations

from omni.runtime.auth import MANAGERS, Principal, Role
from omni.runtime.errors import PermissionDenied
from omni.sessions.model import Session


def may_view(principal: Principal, session: Session) -> bool:
    if principal.role is Role.CUSTOMER:
        return principal.session_id == session.id
    if principal.role in MANAGERS:
        return True
    return session.agent_id == principal.subject or (bool(session.queue) and principal.may_see_group([session.queue]))


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
