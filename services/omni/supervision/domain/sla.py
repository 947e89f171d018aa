"""Ticket SLA targets followed for the breach-imminent rule: tickets' events carry each ticket's
due times (first response, resolution) and whether they were met; supervisors hear of a target
that is not met yet when most of its time is gone (by default the last fifth: 3 minutes before a
15-minute first response falls due, 96 minutes before an 8-hour one). Tickets raises the breach."""

from __future__ import annotations

import dataclasses
import datetime as dt

from omni.supervision.domain.alerts import Alert, AlertKind, Subject, new_alert

FIRST_RESPONSE = "first_response"
RESOLUTION = "resolution"


@dataclasses.dataclass(frozen=True)
class SlaTarget:
    ticket_id: str
    queue_id: str
    # FIRST_RESPONSE or RESOLUTION.
    target: str
    due: dt.datetime
    # When the clock started (the ticket's creation).
    started: dt.datetime
    # Met (answered, resolved or closed) or already breached: nothing more to warn of.
    settled: bool = False


def warn_at(target: SlaTarget, warning: float) -> dt.datetime:
    """When to warn: `warning` (0..1) of the target's time before it falls due."""
    return target.due - max(dt.timedelta(0), target.due - target.started) * warning


def imminent(target: SlaTarget, now: dt.datetime, warning: float) -> Alert | None:
    """The alert when `target` is in its warning time at `now` and not settled."""
    if target.settled or now < warn_at(target, warning) or now >= target.due:
        return None
    left = (target.due - now).total_seconds()
    return new_alert(AlertKind.SLA_BREACH_IMMINENT, f"sla_imminent:{target.ticket_id}:{target.target}", now,
                     Subject(queue_id=target.queue_id, ticket_id=target.ticket_id),
                     f"ticket {target.ticket_id}: {target.target.replace('_', ' ')} due in {left / 60:.0f} min")
