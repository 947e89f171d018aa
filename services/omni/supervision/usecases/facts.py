"""What the other services' events mean for supervisors: routing's work events raise the contact
alerts (angry, rising, emergency, RONA), start and end the greeting timer and count agents' days;
an agent's first reply settles the greeting; tickets' events carry SLA due times and breaches."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from omni.runtime.clock import utcnow
from omni.supervision.domain.alerts import WorkFacts, sla_breached_alert, work_alerts
from omni.supervision.domain.contacts import Contact, late_greeting
from omni.supervision.domain.follow_ups import FollowUpTarget
from omni.supervision.domain.sla import SlaTarget, warn_at
from omni.supervision.repository import SupervisionRepository
from omni.supervision.usecases.alerts import Alerts

# The work has left its agent (or never reached one): its greeting is no longer followed.
_CONTACT_OVER = frozenset({"work_transferred", "work_completed", "work_abandoned", "callback_scheduled"})


class Facts:
    def __init__(self, alerts: Alerts, repo: SupervisionRepository, greeting_target: float,
                 greeting_channels: Sequence[str], sla_warning: float) -> None:
        self._alerts = alerts
        self._repo = repo
        self._greeting_target = greeting_target
        self._greeting_channels = frozenset(greeting_channels)
        self._sla_warning = sla_warning

    async def work_event(self, event_type: str, work: WorkFacts, reason: str, *, answered_at: dt.datetime | None,
                         ended_at: dt.datetime | None, event_id: str) -> None:
        await self._alerts.raise_alerts(work_alerts(event_type, work, reason, utcnow()))
        if event_type == "work_assigned" and work.channel is not None and work.channel in self._greeting_channels:
            connected_at = answered_at or utcnow()
            contact = Contact(session_id=work.session_id, work_id=work.work_id, queue_id=work.queue_id,
                              agent_id=work.agent_id, channel=work.channel, connected_at=connected_at,
                              greeted_at=await self._repo.reply_since(work.session_id, connected_at))
            await self._repo.contact_connected(contact)
            if contact.greeted_at is not None:  # the reply's event came first
                await self._judge(contact, contact.greeted_at)
        elif event_type in _CONTACT_OVER:
            await self._repo.contact_over(work.work_id)
        if event_type == "work_completed" and work.agent_id and answered_at and ended_at:
            await self._repo.count_handled(event_id, work.agent_id, ended_at.date(),
                                           max(0.0, (ended_at - answered_at).total_seconds()))

    async def follow_up(self, target: FollowUpTarget) -> None:
        """A follow-up was scheduled, done or cancelled (not a contact: no contact rule applies)."""
        await self._repo.follow_up(target)

    async def agent_wrote(self, session_id: str, at: dt.datetime) -> None:
        """A reply went out in `session_id` at `at`: the greeting, if its contact waited for one."""
        contact = await self._repo.contact_greeted(session_id, at)
        if contact is not None:
            await self._judge(contact, at)

    async def _judge(self, contact: Contact, greeted_at: dt.datetime) -> None:
        alert = late_greeting(contact, greeted_at, self._greeting_target)
        if alert is not None:
            await self._alerts.raise_alerts([alert])
        await self._repo.contact_judged(contact.work_id)

    async def ticket_targets(self, targets: Sequence[SlaTarget]) -> None:
        await self._repo.sla_targets([(target, warn_at(target, self._sla_warning)) for target in targets])

    async def sla_breached(self, ticket_id: str, queue_id: str, target: str) -> None:
        await self._alerts.raise_alerts([sla_breached_alert(ticket_id, queue_id, target, utcnow())])
