"""Ticket SLA targets followed for the breach-imminent rule: tickets' events carry each ticket's
due times (first response, resolution) and whether they were met; supervisors hear of a target
that falls due within the warning window and is not met yet. Tickets itself raises the breach."""

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
    # Met (answered, resolved or closed) or already breached: nothing more to warn of.
    settled: bool = False


def imminent(target: SlaTarget, now: dt.datetime, warning: float) -> Alert | None:
    """The alert when `target` falls due within `warning` seconds of `now` and is not settled."""
    if target.settled or now < target.due - dt.timedelta(seconds=warning) or now >= target.due:
        return None
    left = (target.due - now).total_seconds()
    return new_alert(AlertKind.SLA_BREACH_IMMINENT, f"sla_imminent:{target.ticket_id}:{target.target}", now,
                     Subject(queue_id=target.queue_id, ticket_id=target.ticket_id),
                     f"ticket {target.ticket_id}: {target.target.replace('_', ' ')} due in {left / 60:.0f} min")
