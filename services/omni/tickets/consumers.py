"""Events tickets consumes: sessions' interactions (threading) and routing's assignments."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from omni.runtime.consumer import KeyFunction
from omni.runtime.events import Delivery, unpack
from omni.runtime.proto_values import channel_from_proto, to_datetime
from omni.tickets import convert
from omni.tickets.domain.follow_ups import FACTS, FollowUpFact
from omni.tickets.domain.identities import readable
from omni.tickets.usecases.desk import Desk
from omni.tickets.usecases.ingestion import Ingestion
from omnichannel.common.v1.event_pb2 import EventEnvelope
from omnichannel.routing.v1.events_pb2 import WorkEvent
from omnichannel.sessions.v1.events_pb2 import InteractionReceived, SurveyAnswered

INTERACTION_EVENTS = ("interaction_received",)
# work_queued and work_abandoned matter for follow-ups alone (domain/follow_ups.py).
ROUTING_EVENTS = ("work_assigned", "work_completed", "work_queued", "work_abandoned")
SURVEY_EVENTS = ("survey_answered",)


def customer_keys(default_region: str) -> KeyFunction:
    """The keys of an interaction: its customer's id and identities (and the ticket it names), so a
    customer's contacts are threaded in order and other customers' alongside them."""

    def keys(envelope: EventEnvelope) -> Iterable[str]:
        interaction = unpack(envelope, InteractionReceived).interaction
        presented = [(convert.KINDS_BACK[i.kind], i.value) for i in interaction.customer.identities
                     if i.kind in convert.KINDS_BACK]
        found = {identity.key for identity in readable(presented, default_region)[0]}
        if interaction.customer.customer_id:
            found.add(f"customer:{interaction.customer.customer_id}")
        if interaction.ticket_id:
            found.add(f"ticket:{interaction.ticket_id}")
        return found or {f"session:{interaction.session_id}"}

    return keys


class TicketConsumers:
    def __init__(self, ingestion: Ingestion, desk: Desk) -> None:
        self._ingestion = ingestion
        self._desk = desk

    async def on_interaction(self, delivery: Delivery) -> None:
        await self.on_interactions([delivery])

    async def on_interactions(self, deliveries: Sequence[Delivery]) -> None:
        """A fetched batch, threaded as one unit of work in the order it was published."""
        await self._ingestion.ingest([
            convert.interaction_from_proto(unpack(d.envelope, InteractionReceived).interaction) for d in deliveries])

    async def on_work_event(self, delivery: Delivery) -> None:
        event = unpack(delivery.envelope, WorkEvent)
        if event.work.HasField("follow_up"):
            await self.on_follow_up(delivery.envelope.type, event, delivery.envelope.id)
        elif delivery.envelope.type == "work_completed":
            await self.on_work_completed(delivery)
        elif delivery.envelope.type == "work_assigned":
            await self.on_work_assigned(delivery)

    async def on_follow_up(self, event_type: str, event: WorkEvent, event_id: str) -> None:
        """A follow-up's facts go on the ticket; its assignment changes nothing there."""
        fact = FACTS.get(event_type)
        work, follow_up = event.work, event.work.follow_up
        if fact is None or not work.session_id:
            return
        await self._desk.follow_up_fact(work.session_id, FollowUpFact(
            work_id=work.id, fact=fact, channel=str(channel_from_proto(work.channel) or ""),
            due=to_datetime(follow_up.due_time), deadline=to_datetime(follow_up.deadline),
            agent_id=work.preferred_agent_id, group=follow_up.group, scheduled_by=follow_up.scheduled_by,
            note=work.wrap_up_note if fact == "done" else work.text,
            by=event.agent_id, at=to_datetime(work.end_time) if work.HasField("end_time") else None,
            disposition=event.disposition or work.disposition, reason=event.reason), event_id=event_id)

    async def on_work_completed(self, delivery: Delivery) -> None:
        event = unpack(delivery.envelope, WorkEvent)
        await self._desk.work_wrapped_up(event.work.session_id, event.work.id, event.agent_id,
                                         event.disposition or event.work.disposition, event.work.wrap_up_note,
                                         event_id=delivery.envelope.id)

    async def on_work_assigned(self, delivery: Delivery) -> None:
        event = unpack(delivery.envelope, WorkEvent)
        await self._desk.session_assigned(event.work.session_id or event.work.id,
                                          event.agent_id or event.work.assigned_agent_id,
                                          event_id=delivery.envelope.id, channel=channel_from_proto(event.work.channel),
                                          answered_at=convert.answer_time(event.work, delivery.envelope),
                                          fence=(event.partition, event.epoch))

    async def on_survey_answered(self, delivery: Delivery) -> None:
        answered = unpack(delivery.envelope, SurveyAnswered).survey
        await self._desk.rated(answered.ticket_id, answered.csat, event_id=delivery.envelope.id)
