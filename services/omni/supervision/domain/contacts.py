"""Contacts with an agent, followed for the greeting rule: once connected, the agent greets the
customer within the greeting target (10 s by default, the seed's rule), or a supervisor hears of it."""

from __future__ import annotations

import dataclasses
import datetime as dt

from omni.runtime.channels import Channel
from omni.supervision.domain.alerts import Alert, AlertKind, Subject, new_alert


@dataclasses.dataclass(frozen=True)
class Contact:
    session_id: str
    work_id: str
    queue_id: str
    agent_id: str
    channel: Channel | None
    connected_at: dt.datetime
    # When the agent first wrote to the customer after connecting; None until then.
    greeted_at: dt.datetime | None = None

    def greeting_due(self, target: float) -> dt.datetime:
        return self.connected_at + dt.timedelta(seconds=target)


def late_greeting(contact: Contact, now: dt.datetime, target: float) -> Alert | None:
    """The alert when the greeting came (or has not come by `now`) later than `target` seconds
    after the contact was connected; None while it is not late."""
    due = contact.greeting_due(target)
    greeted = contact.greeted_at
    if greeted is not None and greeted <= due:
        return None
    if greeted is None and now <= due:
        return None
    late = ((greeted or now) - contact.connected_at).total_seconds()
    detail = (f"agent {contact.agent_id} greeted the customer {late:.0f}s after connecting" if greeted
              else f"agent {contact.agent_id} has not greeted the customer {late:.0f}s after connecting")
    return new_alert(AlertKind.LATE_GREETING, f"late_greeting:{contact.work_id}:{contact.connected_at.isoformat()}",
                     now, Subject(queue_id=contact.queue_id, session_id=contact.session_id, work_id=contact.work_id,
                                  agent_id=contact.agent_id, channel=contact.channel),
                     f"{detail} (target {target:g}s)")
