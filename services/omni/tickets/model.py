"""The tickets service's records: customers, tickets and the interactions on them."""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum

from omni.tickets.identities import Identity
from omni.tickets.lifecycle import Priority, Status


class LinkKind(enum.StrEnum):
    MERGED_INTO = "merged_into"
    FOLLOW_UP_OF = "follow_up_of"
    SPLIT_FROM = "split_from"


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
    origin_channel: str = ""
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

    @property
    def groups(self) -> list[str]:
        return [g for g in (self.queue, self.group) if g]

    @property
    def done_at(self) -> dt.datetime | None:
        return self.closed_at or self.solved_at
