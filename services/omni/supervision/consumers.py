"""Events supervision consumes: routing's work events (contact alerts, the greeting timer, agents'
days), sessions' outbound interactions (the agent's greeting) and tickets' events (SLA due times
and breaches)."""

from __future__ import annotations

from omni.runtime.events import Delivery, unpack
from omni.runtime.proto_values import channel_from_proto, to_datetime
from omni.supervision.domain.alerts import WorkFacts
from omni.supervision.domain.follow_ups import FollowUpTarget
from omni.supervision.domain.sla import FIRST_RESPONSE, RESOLUTION, SlaTarget
from omni.supervision.usecases.facts import Facts
from omnichannel.common.v1 import common_pb2
from omnichannel.routing.v1 import events_pb2 as routing_events
from omnichannel.sessions.v1 import events_pb2 as session_events
from omnichannel.tickets.v1 import events_pb2 as ticket_events
from omnichannel.tickets.v1 import tickets_pb2

WORK_EVENTS = ("work_queued", "work_escalated", "offer_timed_out", "work_assigned", "work_transferred",
               "work_completed", "work_abandoned", "callback_scheduled")
SESSION_EVENTS = ("interaction_received",)
TICKET_EVENTS = ("ticket_created", "ticket_updated", "ticket_status_changed", "ticket_assigned", "sla_breached")
# A follow-up is followed from its scheduling until it is done or cancelled.
_FOLLOW_UP_EVENTS = frozenset({"work_queued", "work_completed", "work_abandoned"})
_SETTLED_STATUSES = frozenset({tickets_pb2.TICKET_STATUS_SOLVED, tickets_pb2.TICKET_STATUS_CLOSED})


class SupervisionConsumers:
    def __init__(self, facts: Facts) -> None:
        self._facts = facts

    async def on_work_event(self, delivery: Delivery) -> None:
        event = unpack(delivery.envelope, routing_events.WorkEvent)
        work = event.work
        if work.HasField("follow_up"):
            if delivery.envelope.type in _FOLLOW_UP_EVENTS:
                await self._facts.follow_up(FollowUpTarget(
                    work.id, work.queue_id, work.session_id, to_datetime(work.follow_up.deadline),
                    work.preferred_agent_id, work.follow_up.group, channel_from_proto(work.channel),
                    settled=delivery.envelope.type != "work_queued"))
            return
        facts = WorkFacts(
            work_id=work.id, session_id=work.session_id or work.id, queue_id=work.queue_id,
            channel=channel_from_proto(work.channel), reasons=tuple((r.code, r.detail) for r in work.reasons),
            offer_attempts=work.offer_attempts,
            agent_id=event.agent_id or work.assigned_agent_id or work.offered_agent_id)
        await self._facts.work_event(
            delivery.envelope.type, facts, event.reason,
            answered_at=to_datetime(work.answer_time) if work.HasField("answer_time") else None,
            ended_at=to_datetime(work.end_time) if work.HasField("end_time") else None,
            event_id=delivery.envelope.id)

    async def on_session_event(self, delivery: Delivery) -> None:
        interaction = unpack(delivery.envelope, session_events.InteractionReceived).interaction
        if interaction.direction != common_pb2.DIRECTION_OUTBOUND or not interaction.session_id:
            return
        at = interaction.occurred_at if interaction.HasField("occurred_at") else delivery.envelope.occurred_at
        await self._facts.agent_wrote(interaction.session_id, to_datetime(at))

    async def on_ticket_event(self, delivery: Delivery) -> None:
        event = unpack(delivery.envelope, ticket_events.TicketEvent)
        ticket = event.ticket
        if delivery.envelope.type == "sla_breached":
            await self._facts.sla_breached(ticket.id, ticket.queue, event.breached_target or "resolution")
            return
        sla, closed = ticket.sla, ticket.status in _SETTLED_STATUSES
        started = to_datetime(ticket.create_time if ticket.HasField("create_time") else delivery.envelope.occurred_at)
        targets = []
        if sla.HasField("first_response_due"):
            targets.append(SlaTarget(ticket.id, ticket.queue, FIRST_RESPONSE, to_datetime(sla.first_response_due),
                                     started, settled=closed or sla.HasField("first_response_time")
                                     or sla.first_response_breached))
        if sla.HasField("resolution_due"):
            targets.append(SlaTarget(ticket.id, ticket.queue, RESOLUTION, to_datetime(sla.resolution_due), started,
                                     settled=closed or sla.resolution_breached))
        await self._facts.ticket_targets(targets)
