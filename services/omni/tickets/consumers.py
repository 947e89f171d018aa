"""Events tickets consumes: sessions' interactions (threading) and routing's assignments."""

from __future__ import annotations

from collections.abc import Sequence

from omni.runtime.events import Delivery, unpack
from omni.runtime.proto_values import channel_from_proto
from omni.tickets import convert
from omni.tickets.usecases.desk import Desk
from omni.tickets.usecases.ingestion import Ingestion
from omnichannel.routing.v1.events_pb2 import WorkEvent
from omnichannel.sessions.v1.events_pb2 import InteractionReceived

INTERACTION_EVENTS = ("interaction_received",)
ROUTING_EVENTS = ("work_assigned", "work_completed")


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
        if delivery.envelope.type == "work_completed":
            await self.on_work_completed(delivery)
        else:
            await self.on_work_assigned(delivery)

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
                                          answered_at=convert.answer_time(event.work, delivery.envelope))
