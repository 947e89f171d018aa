"""SLA policies: first-response and resolution targets per priority, when they are due, what
counts as the first response, how the due times follow a change of priority, and which of a
ticket's targets are still to be watched for a breach."""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
from collections.abc import Mapping

from omni.runtime.channels import Channel
from omni.tickets.domain.lifecycle import ACTIVE, Priority
from omni.tickets.domain.model import Ticket


class Target(enum.StrEnum):
    FIRST_RESPONSE = "first_response"
    RESOLUTION = "resolution"


@dataclasses.dataclass(frozen=True)
class Targets:
    first_response: dt.timedelta
    resolution: dt.timedelta


@dataclasses.dataclass(frozen=True)
class SlaPolicy:
    targets: Mapping[Priority, Targets]

    def due(self, priority: Priority, start: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
        """(first response due, resolution due) for a ticket opened at `start`."""
        target = self.targets[priority]
        return start + target.first_response, start + target.resolution

    def reprioritised(self, ticket: Ticket, previous: Priority) -> None:
        """`ticket`'s due times after its priority changed from `previous`: the new priority's
        targets, counted from the same start. A breach already flagged stays flagged (it was
        announced); a due time moved into the past is flagged by the next SLA check."""
        if ticket.priority == previous:
            return
        before, after = self.targets[previous], self.targets[ticket.priority]
        sla = ticket.sla
        if sla.first_response_due is not None:
            sla.first_response_due += after.first_response - before.first_response
        if sla.resolution_due is not None:
            sla.resolution_due += after.resolution - before.resolution


# Channels where an agent taking the contact is speaking to the customer: answering a call or
# accepting a chat is the first response. Taking an email is not; the reply is.
ANSWERED_LIVE = frozenset({Channel.PHONE, Channel.CHAT})


def responded(ticket: Ticket, at: dt.datetime) -> bool:
    """An agent responded to the customer at `at` (a reply sent, a call answered, a chat
    accepted): the first one is the ticket's first response. True if that changed the ticket."""
    if ticket.sla.first_response_at is not None and ticket.sla.first_response_at <= at:
        return False
    ticket.sla.first_response_at = at
    return True


def pending(ticket: Ticket) -> dict[Target, dt.datetime | None]:
    """When each target falls due, for the targets that can still be breached: None once met,
    breached or moot (the ticket is solved or closed)."""
    active = ticket.status in ACTIVE
    sla = ticket.sla
    waiting_first = active and sla.first_response_at is None and not sla.first_response_breached
    return {
        Target.FIRST_RESPONSE: sla.first_response_due if waiting_first else None,
        Target.RESOLUTION: sla.resolution_due if active and not sla.resolution_breached else None,
    }
