"""SLA policies: first-response and resolution targets per priority, when they are due, and
which of a ticket's targets are still to be watched for a breach."""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
from collections.abc import Mapping

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
