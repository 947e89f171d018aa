"""Ticket statuses, the transitions a person may make, and what priority a contact gets."""

from __future__ import annotations

import enum

from omni.runtime.errors import FailedPrecondition


class Status(enum.StrEnum):
    NEW = "new"
    OPEN = "open"
    PENDING = "pending"
    ON_HOLD = "on_hold"
    SOLVED = "solved"
    CLOSED = "closed"


class Priority(enum.IntEnum):
    LOW = 1
    NORMAL = 2
    HIGH = 3
    URGENT = 4


ACTIVE = frozenset({Status.NEW, Status.OPEN, Status.PENDING, Status.ON_HOLD})
DONE = frozenset({Status.SOLVED, Status.CLOSED})

# Closed is final for people; only a customer's reply inside the follow-up window reopens a
# ticket (threading), and a solved ticket can be reopened by an agent.
_ALLOWED: dict[Status, frozenset[Status]] = {
    Status.NEW: frozenset({Status.OPEN, Status.PENDING, Status.ON_HOLD, Status.SOLVED, Status.CLOSED}),
    Status.OPEN: frozenset({Status.PENDING, Status.ON_HOLD, Status.SOLVED, Status.CLOSED}),
    Status.PENDING: frozenset({Status.OPEN, Status.ON_HOLD, Status.SOLVED, Status.CLOSED}),
    Status.ON_HOLD: frozenset({Status.OPEN, Status.PENDING, Status.SOLVED, Status.CLOSED}),
    Status.SOLVED: frozenset({Status.OPEN, Status.CLOSED}),
    Status.CLOSED: frozenset(),
}


def check_transition(ticket_id: str, current: Status, wanted: Status) -> None:
    if wanted == current:
        return
    if wanted in _ALLOWED[current]:
        return
    if current is Status.CLOSED:
        raise FailedPrecondition(
            f"ticket {ticket_id} is closed and cannot change status; open a new ticket linked to it instead"
        )
    allowed = ", ".join(sorted(s.value for s in _ALLOWED[current]))
    raise FailedPrecondition(f"ticket {ticket_id} cannot go from {current.value} to {wanted.value}; from "
                             f"{current.value} it may go to: {allowed}")


EMOTION_ESCALATION = 8


def contact_priority(*, urgent: bool, emotion_score: int, tier: str) -> Priority:
    """Emergency words or an angry caller make it urgent; VIP customers get high priority."""
    if urgent or emotion_score >= EMOTION_ESCALATION:
        return Priority.URGENT
    if tier.casefold() == "vip":
        return Priority.HIGH
    return Priority.NORMAL
