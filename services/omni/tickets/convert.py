"""Records ↔ protobuf messages."""

from __future__ import annotations

import datetime as dt

from google.protobuf.timestamp_pb2 import Timestamp

from omni.tickets.identities import Identity, Kind
from omni.tickets.lifecycle import Priority, Status
from omni.tickets.model import Customer, LinkKind, Ticket
from omni.tickets.repository import StoredInteraction
from omnichannel.common.v1 import common_pb2
from omnichannel.tickets.v1 import tickets_pb2 as pb

KINDS = {
    Kind.PHONE: common_pb2.IDENTITY_KIND_PHONE,
    Kind.EMAIL: common_pb2.IDENTITY_KIND_EMAIL,
    Kind.CHAT_HANDLE: common_pb2.IDENTITY_KIND_CHAT_HANDLE,
    Kind.EXTERNAL: common_pb2.IDENTITY_KIND_EXTERNAL,
}
KINDS_BACK = {v: k for k, v in KINDS.items()}
STATUSES = {s: pb.TicketStatus.Value(f"TICKET_STATUS_{s.name}") for s in Status}
STATUSES_BACK = {v: k for k, v in STATUSES.items()}
PRIORITIES = {p: pb.TicketPriority.Value(f"TICKET_PRIORITY_{p.name}") for p in Priority}
PRIORITIES_BACK = {v: k for k, v in PRIORITIES.items()}
LINKS = {k: pb.TicketLinkKind.Value(f"TICKET_LINK_KIND_{k.name}") for k in LinkKind}
CHANNELS = {"phone": common_pb2.CHANNEL_PHONE, "chat": common_pb2.CHANNEL_CHAT, "email": common_pb2.CHANNEL_EMAIL}
CHANNELS_BACK = {v: k for k, v in CHANNELS.items()}


def timestamp(value: dt.datetime | None) -> Timestamp | None:
    if value is None:
        return None
    stamp = Timestamp()
    stamp.FromDatetime(value)
    return stamp


def identity_to_proto(identity: Identity) -> common_pb2.Identity:
    return common_pb2.Identity(kind=KINDS[identity.kind], value=identity.value)


def customer_to_proto(customer: Customer) -> pb.Customer:
    return pb.Customer(
        id=customer.id,
        display_name=customer.display_name,
        identities=[identity_to_proto(i) for i in customer.identities],
        language=customer.language,
        tier=customer.tier,
        tags=customer.tags,
        preferred_agent_id=customer.preferred_agent_id,
        last_agent_id=customer.last_agent_id,
        merged_into=customer.merged_into,
        version=customer.version,
        create_time=timestamp(customer.created_at),
        update_time=timestamp(customer.updated_at),
        identity_conflicts=[
            pb.IdentityConflict(identity=identity_to_proto(c.identity), owner_customer_id=c.owner_customer_id,
                                interaction_id=c.interaction_id, detect_time=timestamp(c.detected_at))
            for c in customer.conflicts
        ],
    )


def interaction(record: StoredInteraction) -> common_pb2.Interaction:
    message = common_pb2.Interaction.FromString(record.raw)
    # Merges and splits move interactions; the stored placement is the truth.
    message.ticket_id = record.ticket_id
    message.customer.customer_id = record.customer_id
    return message


def ticket_to_proto(ticket: Ticket, timeline: list[StoredInteraction] | None = None) -> pb.Ticket:
    sla = ticket.sla
    return pb.Ticket(
        id=ticket.id,
        subject=ticket.subject,
        status=STATUSES[ticket.status],
        priority=PRIORITIES[ticket.priority],
        customer_id=ticket.customer_id,
        queue=ticket.queue,
        group=ticket.group,
        assignee_id=ticket.assignee_id,
        tags=ticket.tags,
        origin_channel=CHANNELS.get(ticket.origin_channel, common_pb2.CHANNEL_UNSPECIFIED),
        interactions=[interaction(r) for r in timeline or ()],
        notes=[pb.Note(id=n.id, author_id=n.author_id, text=n.text, create_time=timestamp(n.created_at))
               for n in ticket.notes],
        links=[pb.TicketLink(kind=LINKS[link.kind], ticket_id=link.ticket_id) for link in ticket.links],
        sla=pb.Sla(
            first_response_due=timestamp(sla.first_response_due),
            resolution_due=timestamp(sla.resolution_due),
            first_response_time=timestamp(sla.first_response_at),
            first_response_breached=sla.first_response_breached,
            resolution_breached=sla.resolution_breached,
        ),
        csat=ticket.csat,
        disposition=ticket.disposition,
        version=ticket.version,
        create_time=timestamp(ticket.created_at),
        update_time=timestamp(ticket.updated_at),
        solve_time=timestamp(ticket.solved_at),
        close_time=timestamp(ticket.closed_at),
        reopen_count=ticket.reopen_count,
        interaction_count=ticket.interaction_count,
    )
