"""The tickets service's records: customers, tickets, the interactions on them, and the changes
a watcher is shown."""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
from typing import Protocol

from omni.runtime.channels import Channel
from omni.tickets.domain.identities import Identity, Presented
from omni.tickets.domain.lifecycle import Priority, Status


class Limits(Protocol):
    """Sizes a ticket or customer keeps to (the service's settings)."""

    @property
    def max_subject_chars(self) -> int: ...
    @property
    def max_note_chars(self) -> int: ...
    @property
    def max_tags(self) -> int: ...
    @property
    def max_tag_chars(self) -> int: ...
    @property
    def max_name_chars(self) -> int: ...


class LinkKind(enum.StrEnum):
    MERGED_INTO = "merged_into"
    FOLLOW_UP_OF = "follow_up_of"
    SPLIT_FROM = "split_from"
    # The other ends: on a merge's target and a split's original.
    MERGED_FROM = "merged_from"
    SPLIT_INTO = "split_into"


@dataclasses.dataclass
class IdentityConflict:
    identity: Identity
    owner_customer_id: str
    interaction_id: str
    detected_at: dt.datetime


@dataclasses.dataclass
class Customer:
    id: str
    display_name: str = ""
    identities: list[Identity] = dataclasses.field(default_factory=list)
    language: str = ""
    tier: str = ""
    tags: list[str] = dataclasses.field(default_factory=list)
    preferred_agent_id: str = ""
    last_agent_id: str = ""
    merged_into: str = ""
    # The customers merged into this one.
    merged_from: list[str] = dataclasses.field(default_factory=list)
    conflicts: list[IdentityConflict] = dataclasses.field(default_factory=list)
    version: int = 1
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None


@dataclasses.dataclass
class Note:
    id: str
    author_id: str
    text: str
    created_at: dt.datetime


@dataclasses.dataclass
class Link:
    kind: LinkKind
    ticket_id: str


@dataclasses.dataclass
class Sla:
    first_response_due: dt.datetime | None = None
    resolution_due: dt.datetime | None = None
    first_response_at: dt.datetime | None = None
    first_response_breached: bool = False
    resolution_breached: bool = False


@dataclasses.dataclass
class Ticket:
    id: str
    customer_id: str
    subject: str = ""
    status: Status = Status.NEW
    priority: Priority = Priority.NORMAL
    queue: str = ""
    group: str = ""
    # Queue or intent the ticket is about: what phone/chat/email threading matches on.
    topic: str = ""
    assignee_id: str = ""
    tags: list[str] = dataclasses.field(default_factory=list)
    # The channel of its earliest interaction.
    origin_channel: Channel | None = None
    notes: list[Note] = dataclasses.field(default_factory=list)
    links: list[Link] = dataclasses.field(default_factory=list)
    sla: Sla = dataclasses.field(default_factory=Sla)
    csat: int = 0
    disposition: str = ""
    version: int = 1
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None
    solved_at: dt.datetime | None = None
    closed_at: dt.datetime | None = None
    reopen_count: int = 0
    interaction_count: int = 0
    # occurred_at of its earliest and latest interaction (not arrival time).
    first_at: dt.datetime | None = None
    last_at: dt.datetime | None = None
    merged_into: str = ""
    # Addresses that wrote into the ticket without being the customer's (docs/tickets.md).
    participants: list[str] = dataclasses.field(default_factory=list)
    # Routing's partition -> the highest lease epoch of its assignments applied (runtime/fencing.py).
    routing_epochs: dict[str, int] = dataclasses.field(default_factory=dict)
    # What created it (a request, an interaction): unique, so a retried create finds the first.
    origin_key: str = ""

    @property
    def groups(self) -> list[str]:
        return [g for g in (self.queue, self.group) if g]

    @property
    def done_at(self) -> dt.datetime | None:
        return self.closed_at or self.solved_at


@dataclasses.dataclass(frozen=True)
class Bounce:
    """What a delivery status notification says of one of our mails."""

    original_message_id: str = ""
    status: str = ""
    recipient: str = ""
    diagnostic: str = ""
    # The bounce's own interaction.
    interaction_id: str = ""


@dataclasses.dataclass(frozen=True)
class Email:
    """The headers of an email interaction that threading reads."""

    subject: str = ""
    message_id: str = ""
    in_reply_to: str = ""
    references: tuple[str, ...] = ()
    # Auto-reply (RFC 3834 Auto-Submitted) and delivery-status report (bounce).
    auto_submitted: bool = False
    delivery_status_report: bool = False
    # The From address of this very mail ('' from senders that did not say: then the presented
    # identity stands in).
    sender: str = ""
    # The receiving MTA found DMARC/SPF/DKIM failing (sessions, sender trust).
    unverified: bool = False
    # A bounce: the Message-ID of our mail it returns, and what happened to it.
    report: Bounce | None = None
    # Message-IDs of attached messages (a forward as attachment).
    attached_message_ids: tuple[str, ...] = ()

    @property
    def automatic(self) -> bool:
        return self.auto_submitted or self.delivery_status_report


@dataclasses.dataclass(frozen=True)
class Interaction:
    """One contact a channel received or an agent sent, as sessions announced it."""

    id: str
    # The interaction exactly as announced: a ticket's timeline shows it whole, and threading
    # needs only the fields below.
    raw: bytes
    channel: Channel | None = None
    outbound: bool = False
    # None: the channel did not say; threading takes the time it arrived.
    occurred_at: dt.datetime | None = None
    session_id: str = ""
    # Outbound: the ticket the agent answered.
    ticket_id: str = ""
    # The customer, when sessions already knows them.
    customer_id: str = ""
    # Identities as the channel presented them, not yet normalised (they may be junk).
    presented: tuple[Presented, ...] = ()
    display_name: str = ""
    language: str = ""
    queue: str = ""
    intent: str = ""
    text: str = ""
    urgent: bool = False
    emotion_score: int = 0
    agent_id: str = ""
    # A call that ended in the IVR before reaching a queue (it has no topic yet).
    abandoned_in_ivr: bool = False
    email: Email = Email()


@dataclasses.dataclass(frozen=True)
class OutboxEvent:
    """An event recorded together with the change it announces and published after the commit
    (again on a redelivery, under the same id). Encoded already: only publishing reads it."""

    type: str
    subject: str
    id: str
    payload: bytes


@dataclasses.dataclass
class InteractionRecord:
    """An interaction as stored: where threading placed it."""

    id: str
    ticket_id: str
    customer_id: str
    session_id: str
    occurred_at: dt.datetime
    raw: bytes
    message_id: str = ""
    created_ticket: bool = False
    # The sender is not one of the customer's identities: a participant of the ticket.
    third_party: bool = False
    # An outbound mail a bounce came back for.
    bounce: Bounce | None = None
    # Events to publish for it, kept with it so a redelivery can publish them again.
    outbox: list[OutboxEvent] = dataclasses.field(default_factory=list)


@dataclasses.dataclass(frozen=True)
class TicketChange:
    """What a watcher of tickets is shown: `change` ("created", "updated", "status_changed",
    "assigned", "merged", "sla_breached") happened to `ticket`. The first change of every watch
    is WATCHING, without a ticket: from then on no change is missed."""

    change: str
    ticket: Ticket | None
    occurred_at: dt.datetime


WATCHING = "watching"
