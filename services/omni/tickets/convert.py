"""Protobuf ↔ the tickets domain: requests into drafts and filters, records into messages, and an
announced interaction into the domain `Interaction` threading works on."""

from __future__ import annotations

import datetime as dt

from google.protobuf.message import Message

from omni.runtime.clock import utcnow
from omni.runtime.errors import InvalidArgument
from omni.runtime.proto_values import channel_from_proto, channel_to_proto, timestamp, timestamp_or_none, to_datetime
from omni.tickets.domain.identities import Identity, Kind
from omni.tickets.domain.lifecycle import Priority, Status
from omni.tickets.domain.model import (
    Bounce,
    Customer,
    Email,
    Interaction,
    InteractionRecord,
    Link,
    LinkKind,
    Note,
    Sla,
    Ticket,
    TicketChange,
)
from omni.tickets.domain.tickets import TicketFilter, WatchFilter
from omnichannel.common.v1 import common_pb2, event_pb2
from omnichannel.routing.v1 import routing_pb2
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
LINKS_BACK = {v: k for k, v in LINKS.items()}

# --- identities -------------------------------------------------------------------------------


def identity_to_proto(identity: Identity) -> common_pb2.Identity:
    return common_pb2.Identity(kind=KINDS[identity.kind], value=identity.value)


def identity_from_proto(identity: common_pb2.Identity) -> tuple[Kind, str]:
    """An identity as given (the use cases normalise it)."""
    if identity.kind not in KINDS_BACK:
        raise InvalidArgument("identity.kind is required (phone, email, chat handle or external)")
    return KINDS_BACK[identity.kind], identity.value


# --- customers --------------------------------------------------------------------------------


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
        merged_from=customer.merged_from,
        version=customer.version,
        create_time=timestamp_or_none(customer.created_at),
        update_time=timestamp_or_none(customer.updated_at),
        identity_conflicts=[
            pb.IdentityConflict(identity=identity_to_proto(c.identity), owner_customer_id=c.owner_customer_id,
                                interaction_id=c.interaction_id, detect_time=timestamp(c.detected_at))
            for c in customer.conflicts
        ],
    )


def customer_draft(message: pb.Customer) -> Customer:
    """The customer fields a caller may give (CreateCustomer, UpdateCustomer), tidied."""
    return Customer(id=message.id, display_name=message.display_name.strip(), language=message.language.strip(),
                    tier=message.tier.strip().lower(), tags=[t.strip() for t in message.tags if t.strip()],
                    preferred_agent_id=message.preferred_agent_id, version=message.version)


# --- tickets ----------------------------------------------------------------------------------


def status_from_proto(value: int) -> Status:
    if value not in pb.TicketStatus.values() or value not in STATUSES_BACK:
        raise InvalidArgument(f"ticket status {value} is not one of: "
                              f"{', '.join(pb.TicketStatus.Name(v) for v in STATUSES_BACK)}")
    return STATUSES_BACK[pb.TicketStatus.ValueType(value)]


def ticket_draft(message: pb.Ticket) -> Ticket:
    """The ticket fields a caller may give (CreateTicket, UpdateTicket), tidied."""
    return Ticket(
        id=message.id, customer_id=message.customer_id, subject=message.subject,
        status=status_from_proto(message.status) if message.status else Status.NEW,
        priority=PRIORITIES_BACK.get(message.priority, Priority.NORMAL), queue=message.queue.strip(),
        group=message.group.strip(), tags=[t.strip() for t in message.tags if t.strip()],
        origin_channel=channel_from_proto(message.origin_channel), csat=message.csat,
        disposition=message.disposition, version=message.version,
    )


def ticket_filter(request: pb.ListTicketsRequest) -> TicketFilter:
    return TicketFilter(customer_id=request.customer_id,
                        statuses=tuple(status_from_proto(s) for s in request.statuses), queue=request.queue,
                        assignee_id=request.assignee_id, tag=request.tag)


def watch_filter(request: pb.WatchTicketsRequest) -> WatchFilter:
    return WatchFilter(queue=request.queue, assignee_id=request.assignee_id, customer_id=request.customer_id)


def ticket_to_proto(ticket: Ticket, timeline: list[InteractionRecord] | None = None) -> pb.Ticket:
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
        origin_channel=channel_to_proto(ticket.origin_channel),
        interactions=[interaction_to_proto(r) for r in timeline or ()],
        notes=[pb.Note(id=n.id, author_id=n.author_id, text=n.text, create_time=timestamp(n.created_at))
               for n in ticket.notes],
        links=[pb.TicketLink(kind=LINKS[link.kind], ticket_id=link.ticket_id) for link in ticket.links],
        sla=pb.Sla(
            first_response_due=timestamp_or_none(sla.first_response_due),
            resolution_due=timestamp_or_none(sla.resolution_due),
            first_response_time=timestamp_or_none(sla.first_response_at),
            first_response_breached=sla.first_response_breached,
            resolution_breached=sla.resolution_breached,
        ),
        csat=ticket.csat,
        disposition=ticket.disposition,
        version=ticket.version,
        create_time=timestamp_or_none(ticket.created_at),
        update_time=timestamp_or_none(ticket.updated_at),
        solve_time=timestamp_or_none(ticket.solved_at),
        close_time=timestamp_or_none(ticket.closed_at),
        reopen_count=ticket.reopen_count,
        interaction_count=ticket.interaction_count,
        participants=ticket.participants,
    )


def ticket_from_proto(message: pb.Ticket) -> Ticket:
    """A ticket as this service published it (TicketEvent): `ticket_to_proto` undone, so the
    message made of the result is the one read."""
    stamps = message.sla
    return Ticket(
        id=message.id, customer_id=message.customer_id, subject=message.subject,
        status=STATUSES_BACK[message.status], priority=PRIORITIES_BACK[message.priority], queue=message.queue,
        group=message.group, assignee_id=message.assignee_id, tags=list(message.tags),
        origin_channel=channel_from_proto(message.origin_channel),
        notes=[Note(id=n.id, author_id=n.author_id, text=n.text, created_at=to_datetime(n.create_time))
               for n in message.notes],
        links=[Link(LINKS_BACK[link.kind], link.ticket_id) for link in message.links],
        sla=Sla(first_response_due=_datetime(stamps, "first_response_due"),
                resolution_due=_datetime(stamps, "resolution_due"),
                first_response_at=_datetime(stamps, "first_response_time"),
                first_response_breached=stamps.first_response_breached,
                resolution_breached=stamps.resolution_breached),
        csat=message.csat, disposition=message.disposition, version=message.version,
        created_at=_datetime(message, "create_time"), updated_at=_datetime(message, "update_time"),
        solved_at=_datetime(message, "solve_time"), closed_at=_datetime(message, "close_time"),
        reopen_count=message.reopen_count, interaction_count=message.interaction_count,
        participants=list(message.participants),
    )


def change_to_proto(change: TicketChange) -> pb.TicketChange:
    return pb.TicketChange(change=change.change,
                           ticket=None if change.ticket is None else ticket_to_proto(change.ticket),
                           occurred_at=timestamp(change.occurred_at))


# --- interactions -----------------------------------------------------------------------------


def interaction_from_proto(message: common_pb2.Interaction) -> Interaction:
    email = message.email
    return Interaction(
        id=message.id, raw=message.SerializeToString(), channel=channel_from_proto(message.channel),
        outbound=message.direction == common_pb2.DIRECTION_OUTBOUND,
        occurred_at=to_datetime(message.occurred_at) if message.HasField("occurred_at") else None,
        session_id=message.session_id, ticket_id=message.ticket_id, customer_id=message.customer.customer_id,
        presented=tuple((KINDS_BACK[i.kind], i.value) for i in message.customer.identities if i.kind in KINDS_BACK),
        display_name=message.customer.display_name, language=message.language, queue=message.queue,
        intent=message.intent, text=message.text, urgent=message.urgent, emotion_score=message.emotion_score,
        agent_id=message.agent_id, abandoned_in_ivr=message.abandoned_in_ivr,
        email=Email(subject=email.subject, message_id=email.message_id, in_reply_to=email.in_reply_to,
                    references=tuple(email.references), auto_submitted=email.auto_submitted,
                    delivery_status_report=email.delivery_status_report, sender=email.sender,
                    unverified=email.sender_trust == common_pb2.SENDER_TRUST_UNVERIFIED,
                    report=_bounce(email.report) if email.HasField("report") else None,
                    attached_message_ids=tuple(email.attached_message_ids)),
    )


def _bounce(report: common_pb2.DeliveryReport, interaction_id: str = "") -> Bounce:
    return Bounce(original_message_id=report.original_message_id, status=report.status, recipient=report.recipient,
                  diagnostic=report.diagnostic, interaction_id=interaction_id)


def bounce_to_proto(bounce: Bounce) -> common_pb2.DeliveryReport:
    return common_pb2.DeliveryReport(original_message_id=bounce.original_message_id, status=bounce.status,
                                     recipient=bounce.recipient, diagnostic=bounce.diagnostic)


def interaction_to_proto(record: InteractionRecord) -> common_pb2.Interaction:
    message = common_pb2.Interaction.FromString(record.raw)
    # Merges and splits move interactions; the stored placement is the truth.
    message.ticket_id = record.ticket_id
    message.customer.customer_id = record.customer_id
    message.third_party = record.third_party
    if record.bounce is not None:
        message.email.report.CopyFrom(bounce_to_proto(record.bounce))
    return message


def _datetime(message: Message, field: str) -> dt.datetime | None:
    """An optional timestamp field; None when unset (the record had no such time)."""
    return to_datetime(getattr(message, field)) if message.HasField(field) else None


def answer_time(work: routing_pb2.WorkItem, envelope: event_pb2.EventEnvelope) -> dt.datetime:
    """When routing's agent took the work: its answer time, else when the event happened."""
    return _datetime(work, "answer_time") or _datetime(envelope, "occurred_at") or utcnow()
