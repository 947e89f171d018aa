"""Who sees which ticket, interaction and customer: the tickets service's one access rule.

A ticket belongs to its queue and its group. An agent sees the tickets of which either is one of
their groups, and the tickets with neither (unsorted work is everyone's); supervisors, admins
and services see every ticket. An interaction is seen with the ticket it is on. The customer
directory is one for the whole contact center: every staff member sees every customer and may fix
a name (the role table in `service.py` keeps customers out of this service altogether); but what
steers routing to a customer, and the identities that decide whose conversations land on a
record, an agent changes only for their groups' customers: those with a ticket they see.

`visible` says so once, as a description: the in-memory checks below derive from it, and the
repository translates the same description into its list queries, so the two cannot drift apart.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from omni.runtime.auth import Principal
from omni.runtime.errors import PermissionDenied
from omni.tickets.domain.model import Customer, Ticket

# Customer fields that steer routing: the tier (priority) and who is offered the customer first.
STEERING = frozenset({"tier", "preferred_agent_id"})


@dataclasses.dataclass(frozen=True)
class InGroups:
    """The tickets whose queue or group is one of `groups`, and those with neither. Where an
    `InGroups | None` is expected, None means every ticket."""

    groups: tuple[str, ...]

    def admits(self, ticket_groups: Sequence[str]) -> bool:
        """`ticket_groups`: the queue and group a ticket has set (`Ticket.groups`)."""
        return not ticket_groups or any(g in self.groups for g in ticket_groups)


def visible(principal: Principal) -> InGroups | None:
    """The tickets `principal` sees."""
    return None if principal.is_staff_manager else InGroups(principal.groups)


def may_view(principal: Principal, ticket_groups: Sequence[str]) -> bool:
    scope = visible(principal)
    return scope is None or scope.admits(ticket_groups)


def check_view(principal: Principal, ticket: Ticket) -> None:
    if not may_view(principal, ticket.groups):
        raise PermissionDenied(f"ticket {ticket.id} belongs to {', '.join(ticket.groups)}; you may see tickets "
                               f"of {', '.join(principal.groups) or 'no group'}")


def check_open(principal: Principal, draft: Ticket) -> None:
    """A new ticket goes only where its opener sees it."""
    if not may_view(principal, draft.groups):
        raise PermissionDenied(f"you may open tickets only for your groups: {', '.join(principal.groups)}")


def check_move(principal: Principal, groups_before: Sequence[str], ticket: Ticket) -> None:
    """An agent moves a ticket (queue, group) only into their own groups, and never out of every group."""
    scope = visible(principal)
    if scope is None:
        return
    outside = [g for g in ticket.groups if g not in groups_before and not scope.admits([g])]
    if outside:
        raise PermissionDenied(f"you may move ticket {ticket.id} only into your groups "
                               f"({', '.join(principal.groups) or 'none'}), not {', '.join(outside)}; "
                               "ask a supervisor to move it elsewhere")
    if groups_before and not ticket.groups:
        raise PermissionDenied(f"without queue and group ticket {ticket.id} would be seen by every group; "
                               "keep it in one of yours")


def check_hand_to(principal: Principal, group: str) -> None:
    """Assigning a ticket to `group` (empty: keep its group)."""
    if group and not may_view(principal, [group]):
        raise PermissionDenied(f"you may not move tickets to group {group}")


def steers(paths: Sequence[str]) -> bool:
    """Whether an update of these fields steers routing (see `check_their_customer`)."""
    return bool(STEERING.intersection(paths))


def check_their_customer(principal: Principal, customer: Customer, tickets_seen: Sequence[str], what: str) -> None:
    """`tickets_seen`: the customer's tickets `visible(principal)` admits (none asked for when it is None)."""
    if visible(principal) is not None and not tickets_seen:
        raise PermissionDenied(f"customer {customer.id} has no ticket in your groups "
                               f"({', '.join(principal.groups) or 'none'}); ask a supervisor to change {what}")
