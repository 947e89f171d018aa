"""The facts tickets publishes, and the ticket changes read back from them for watchers.

Ingestion keeps its events with the interaction (an outbox, `OutboxEvent`) so a redelivered
event publishes them again under the same ids instead of losing them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from google.protobuf.message import Message

from omni.runtime.events import SUBJECT_ROOT, EventBus, unpack
from omni.runtime.live_feed import LiveFeed
from omni.runtime.proto_values import to_datetime
from omni.tickets import convert
from omni.tickets.domain.lifecycle import Status
from omni.tickets.domain.model import Bounce, Customer, InteractionRecord, OutboxEvent, Ticket, TicketChange
from omnichannel.common.v1.event_pb2 import EventEnvelope
from omnichannel.tickets.v1 import events_pb2

DOMAIN = "tickets"
TICKET_CHANGES = ("ticket_created", "ticket_updated", "ticket_status_changed", "ticket_assigned", "ticket_merged",
                  "sla_breached")
# Every event of this service as it goes over the bus, for WatchTickets.
TicketFeed = LiveFeed[EventEnvelope]

_PAYLOADS: dict[str, type[Message]] = {t: events_pb2.TicketEvent for t in TICKET_CHANGES}
_PAYLOADS["interaction_threaded"] = events_pb2.InteractionThreaded
_PAYLOADS["message_bounced"] = events_pb2.MessageBounced


def ticket_feed(bus: EventBus) -> TicketFeed:
    """The live feed of `omnichannel.tickets.>`: every event published here, as it is published."""
    return LiveFeed(bus.nc, f"{SUBJECT_ROOT}.{DOMAIN}", EventEnvelope.FromString)


def _ticket_event(ticket: Ticket, *, previous: Status | None = None, merged_ticket_id: str = "",
                  breached_target: str = "") -> events_pb2.TicketEvent:
    event = events_pb2.TicketEvent(ticket=convert.ticket_to_proto(ticket), merged_ticket_id=merged_ticket_id,
                                   breached_target=breached_target)
    if previous is not None:
        event.previous_status = convert.STATUSES[previous]
    return event


def _subject(ticket_id: str) -> str:
    return f"tickets/{ticket_id}"


def ticket_outboxed(event_type: str, event_id: str, ticket: Ticket, *,
                    previous: Status | None = None) -> OutboxEvent:
    """A ticket event to publish once the transaction recording it has committed."""
    return OutboxEvent(event_type, _subject(ticket.id), event_id,
                       _ticket_event(ticket, previous=previous).SerializeToString())


def threaded_outboxed(record: InteractionRecord) -> OutboxEvent:
    """`interaction_threaded`: where threading placed `record`."""
    payload = events_pb2.InteractionThreaded(interaction_id=record.id, session_id=record.session_id,
                                             ticket_id=record.ticket_id, customer_id=record.customer_id,
                                             created_ticket=record.created_ticket, third_party=record.third_party)
    return OutboxEvent("interaction_threaded", _subject(record.ticket_id), f"{record.id}:threaded",
                       payload.SerializeToString())


def bounced_outboxed(bounced: InteractionRecord, bounce: Bounce) -> OutboxEvent:
    """`message_bounced`: our mail `bounced` on its ticket came back undelivered."""
    payload = events_pb2.MessageBounced(ticket_id=bounced.ticket_id, interaction_id=bounced.id,
                                        bounce_interaction_id=bounce.interaction_id,
                                        report=convert.bounce_to_proto(bounce))
    return OutboxEvent("message_bounced", _subject(bounced.ticket_id), f"{bounce.interaction_id}:bounced",
                       payload.SerializeToString())


def ticket_change(envelope: EventEnvelope) -> TicketChange | None:
    """A ticket event read back as the change it announced; None for the service's other events."""
    if envelope.type not in TICKET_CHANGES:
        return None
    ticket = unpack(envelope, events_pb2.TicketEvent).ticket
    return TicketChange(change=envelope.type.removeprefix("ticket_"), ticket=convert.ticket_from_proto(ticket),
                        occurred_at=to_datetime(envelope.occurred_at))


class TicketEvents:
    def __init__(self, bus: EventBus) -> None:
        self._bus = bus

    async def ticket(self, event_type: str, event_id: str, ticket: Ticket, *, previous: Status | None = None,
                     merged_ticket_id: str = "", breached_target: str = "") -> None:
        payload = _ticket_event(ticket, previous=previous, merged_ticket_id=merged_ticket_id,
                                breached_target=breached_target)
        await self._bus.publish(DOMAIN, event_type, _subject(ticket.id), payload, event_id=event_id)

    async def customer_merged(self, source_id: str, target: Customer) -> None:
        payload = events_pb2.CustomerMerged(source_customer_id=source_id, target=convert.customer_to_proto(target))
        await self._bus.publish(DOMAIN, "customer_merged", f"customers/{target.id}", payload,
                                event_id=f"{source_id}:merged_into:{target.id}")

    async def flush(self, outbox: Sequence[OutboxEvent]) -> None:
        """Publish in order without waiting for each acknowledgement before sending the next: the
        messages leave on the one connection in this order, the acks are awaited together."""
        await asyncio.gather(*(self._bus.publish(DOMAIN, e.type, e.subject, _PAYLOADS[e.type].FromString(e.payload),
                                                 event_id=e.id) for e in outbox))
