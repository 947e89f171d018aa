"""Who may see and do what in routing, each rule written once.

Queues and agents are listed from memory, so their rule is a predicate used both to check one
item and to filter a list. Work is also listed from storage (finished work), so its rule is a
`WorkScope`: a description of the visible work that checks one item in memory (`admits`) and
that the repository translates into its query.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from omni.routing.domain.agents import Agent
from omni.routing.domain.queues import QueueConfig
from omni.routing.domain.transfers import TransferReason
from omni.routing.domain.work import Work
from omni.runtime.auth import MANAGERS, Principal, Role
from omni.runtime.errors import PermissionDenied
from omni.runtime.phones import to_e164


def check_acting_as(principal: Principal, agent_id: str) -> None:
    """Agents act only as themselves; supervisors, admins and services as any agent."""
    if principal.role not in MANAGERS and principal.subject != agent_id:
        raise PermissionDenied(f"{principal.subject} may act only as themselves, not as agent {agent_id}")


def may_see_queue(principal: Principal, queue: QueueConfig) -> bool:
    """Agents see the queues of their groups; supervisors, admins and services every queue."""
    return principal.may_see_group(queue.groups)


def check_queue(principal: Principal, queue: QueueConfig) -> QueueConfig:
    if not may_see_queue(principal, queue):
        raise PermissionDenied(f"queue {queue.id} is outside your groups")
    return queue


def may_see_agent(principal: Principal, agent: Agent) -> bool:
    """Agents see themselves and the agents sharing a group with them."""
    return principal.subject == agent.id or principal.may_see_group(agent.groups)


def check_agent(principal: Principal, agent: Agent) -> Agent:
    if not may_see_agent(principal, agent):
        raise PermissionDenied(f"agent {agent.id} shares no group with you")
    return agent


@dataclasses.dataclass(frozen=True)
class WorkScope:
    """The work a caller may see: of these queues (None: of every queue) and, for a customer, of
    their own session only."""

    queue_ids: frozenset[str] | None = None
    session_id: str | None = None

    def admits(self, work: Work) -> bool:
        if self.session_id is not None and work.session_id != self.session_id:
            return False
        return self.queue_ids is None or work.queue_id in self.queue_ids

    def within(self, queue_id: str) -> WorkScope:
        """The same scope narrowed to one queue."""
        visible = self.queue_ids is None or queue_id in self.queue_ids
        return dataclasses.replace(self, queue_ids=frozenset({queue_id} if visible else ()))


def work_scope(principal: Principal, queues: Iterable[QueueConfig]) -> WorkScope:
    """Customers see the work of their own session; agents the work of the queues they see;
    supervisors, admins and services all work."""
    if principal.role is Role.CUSTOMER:
        return WorkScope(session_id=principal.session_id)
    if principal.role in MANAGERS:
        return WorkScope()
    return WorkScope(queue_ids=frozenset(q.id for q in queues if may_see_queue(principal, q)))


def check_work(principal: Principal, work: Work, scope: WorkScope) -> Work:
    if not scope.admits(work):
        if principal.role is Role.CUSTOMER:
            raise PermissionDenied("customers may see only the work of their own session")
        raise PermissionDenied(f"work {work.id} is in queue {work.queue_id}, outside your groups")
    return work


def check_transfer(principal: Principal, work: Work) -> None:
    """The agent holding the work, or a supervisor (admin, service), may transfer it."""
    if principal.role not in MANAGERS and principal.subject != work.assigned_agent_id:
        raise PermissionDenied(f"only the agent holding work {work.id} or a supervisor may transfer it")


def check_takeover(principal: Principal, code: TransferReason | None, target_agent_id: str) -> None:
    """A take-over is a supervisor moving the work to themselves (an admin or service: to anyone)."""
    if code is not TransferReason.SUPERVISOR_TAKEOVER:
        return
    if principal.role not in MANAGERS:
        raise PermissionDenied("only a supervisor may take work over; transfer it with another reason")
    if principal.role is Role.SUPERVISOR and target_agent_id != principal.subject:
        raise PermissionDenied(f"a take-over moves the work to you: name yourself ({principal.subject}) as "
                               "target_agent_id")


def check_callback_number(principal: Principal, work: Work, number: str) -> None:
    """A customer's own token (an anonymous web chat's among them) asks for a callback to no number
    (the work's own) or to a phone number the conversation has verified: not to any number it
    types, which would make the contact center call a stranger."""
    if principal.role is not Role.CUSTOMER or not number:
        return
    if (to_e164(number) or number.strip()) not in work.phone_numbers():
        raise PermissionDenied("a callback goes only to a phone number this conversation has verified; leave the "
                               "number empty, or sign in on the website so your number is known")


def check_callback_booking(principal: Principal, work: Work) -> None:
    """Customers book for their own session (the scope checks that), supervisors for anyone; an
    agent only for the customer they are handling (who asks to be called back later)."""
    if principal.role in MANAGERS or principal.role is Role.CUSTOMER:
        return
    if principal.subject != work.assigned_agent_id:
        raise PermissionDenied(f"an agent books a callback only for the work they hold; work {work.id} is not "
                               "yours")


def follow_up_agent(principal: Principal, source: Work, group: str) -> str:
    """Who may schedule a follow-up of `source` for whom (docs/outbound.md, "Follow-ups"): an agent
    only of a contact they handled, for themselves or one of their groups; a supervisor (admin,
    service) of any contact they see, for its agent or any group. The agent the follow-up is
    for ("" : the group's from the start)."""
    manager = principal.role in MANAGERS
    if not manager and principal.subject != source.assigned_agent_id:
        handled = f"was handled by {source.assigned_agent_id}" if source.assigned_agent_id else "has no agent yet"
        raise PermissionDenied(f"work {source.id} {handled}, not by you; you follow up your own contacts "
                               "(a supervisor may schedule any)")
    if group and not principal.may_see_group([group]):
        raise PermissionDenied(f"group {group} is not one of yours ({', '.join(principal.groups) or 'none'})")
    if group:
        return ""
    if manager and not source.assigned_agent_id:
        raise PermissionDenied(f"work {source.id} has no agent to follow it up; name the group it falls to")
    return principal.subject if not manager else source.assigned_agent_id


def check_follow_up_cancel(principal: Principal, work: Work) -> None:
    """Whoever scheduled a follow-up, the agent it is for, or a supervisor may cancel it."""
    if principal.role not in MANAGERS and principal.subject not in (work.follow_up_by, work.preferred_agent_id):
        raise PermissionDenied(f"follow-up {work.id} was scheduled by {work.follow_up_by} for "
                               f"{work.preferred_agent_id or 'group ' + work.follow_up_group}; only they or a "
                               "supervisor cancel it")
