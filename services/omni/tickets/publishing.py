"""The facts tickets publishes. Ingestion keeps its events with the interaction (an outbox) so
a redelivered event publishes them again under the same ids instead of losing them."""

from __future__ import annotations

from google.protobuf.message import Message

from omni.runtime.events import EventBus
from omni.runtime.storage import Document
from omni.tickets import convert
from omni.tickets.lifecycle import Status
from omni.tickets.model import Customer, Ticket
from omnichannel.tickets.v1 import events_pb2

DOMAIN = "tickets"
TICKET_CHANGES = ("ticket_created", "ticket_updated", "ticket_status_changed", "ticket_assigned", "ticket_merged",
                  "sla_breached")


def ticket_event(ticket: Ticket, *, previous: Status | None = None, merged_ticket_id: str = "",
                 breached_target: str = "") -> events_pb2.TicketEvent:
    event = events_pb2.TicketEvent(ticket=convert.ticket_to_proto(ticket), merged_ticket_id=merged_ticket_id,
                                   breached_target=breached_target)
    if previous is not None:
        event.previous_status = convert.STATUSES[previous]
    return event


def outbox_entry(event_type: str, subject: str, event_id: str, payload: Message) -> Document:
    return {"type": event_type, "subject": subject, "id": event_id, "payload": payload.SerializeToString()}


_PAYLOADS: dict[str, type[Message]] = {t: events_pb2.TicketEvent for t in TICKET_CHANGES}
_PAYLOADS["interaction_threaded"] = events_pb2.InteractionThreaded


class TicketEvents:
    def __init__(self, bus: EventBus) -> None:
        self._bus = bus

    async def ticket(self, event_type: str, event_id: str, payload: events_pb2.TicketEvent) -> None:
        await self._bus.publish(DOMAIN, event_type, f"tickets/{payload.ticket.id}", payload, event_id=event_id)

    async def customer_merged(self, source_id: str, target: Customer) -> None:
        payload = events_pb2.CustomerMerged(source_customer_id=source_id, target=convert.customer_to_proto(target))
        await self._bus.publish(DOMAIN, "customer_merged", f"customers/{target.id}", payload,
                                event_id=f"{source_id}:merged_into:{target.id}")

    async def flush(self, outbox: list[Document]) -> None:
        for entry in outbox:
            payload = _PAYLOADS[entry["type"]].FromString(bytes(entry["payload"]))
            await self._bus.publish(DOMAIN, entry["type"], entry["subject"], payload, event_id=entry["id"])
