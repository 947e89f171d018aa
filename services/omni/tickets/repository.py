"""Customers, identities, tickets and interactions in MongoDB (the tickets service's database).

Every method takes an optional `session` so that ingestion can run its whole effect in one
transaction (see `ingestion.py`). Identity ownership lives in its own collection keyed by the
normalised identity, so "who owns +8613800138000" is one primary-key read and two customers
can never both claim a number.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from bson.binary import Binary
from pymongo import ASCENDING, DESCENDING, IndexModel, ReturnDocument
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from omni.runtime.clock import utcnow
from omni.runtime.errors import NotFound
from omni.runtime.paging import Page, PageRequest
from omni.runtime.storage import (
    Document,
    IndexDeclarations,
    find_page,
    plain,
    update_then_read,
    update_versioned,
)
from omni.tickets.identities import Identity, Kind
from omni.tickets.lifecycle import ACTIVE, Priority, Status
from omni.tickets.model import Customer, IdentityConflict, Link, LinkKind, Note, Sla, Ticket
from omni.tickets.threading import Candidate

CUSTOMERS = "customers"
IDENTITIES = "identities"
TICKETS = "tickets"
INTERACTIONS = "interactions"
COUNTERS = "counters"

INDEXES: IndexDeclarations = {
    CUSTOMERS: [
        IndexModel([("origin_key", ASCENDING)], unique=True, name="origin_key"),
        IndexModel([("tags", ASCENDING)], name="tags"),
        IndexModel([("tier", ASCENDING)], name="tier"),
    ],
    IDENTITIES: [IndexModel([("customer_id", ASCENDING)], name="customer")],
    TICKETS: [
        IndexModel([("origin_key", ASCENDING)], unique=True, name="origin_key"),
        IndexModel([("customer_id", ASCENDING), ("status", ASCENDING)], name="customer_status"),
        IndexModel([("queue", ASCENDING)], name="queue"),
        IndexModel([("assignee_id", ASCENDING)], name="assignee"),
        IndexModel([("tags", ASCENDING)], name="tags"),
        IndexModel([("updated_at", DESCENDING), ("_id", DESCENDING)], name="recent"),
        IndexModel([("fr_pending_due", ASCENDING)], name="first_response_watch"),
        IndexModel([("res_pending_due", ASCENDING)], name="resolution_watch"),
    ],
    INTERACTIONS: [
        IndexModel([("ticket_id", ASCENDING), ("occurred_at", ASCENDING)], name="ticket_timeline"),
        IndexModel([("customer_id", ASCENDING), ("occurred_at", DESCENDING)], name="customer_history"),
        IndexModel([("session_id", ASCENDING)], name="session"),
        IndexModel([("message_id", ASCENDING)], name="message_id"),
    ],
}

TIMELINE_LIMIT = 500
# ListTickets order_by → (stored field, direction).
ORDERS: Mapping[str, tuple[str, int]] = {
    "update_time desc": ("updated_at", DESCENDING),
    "update_time": ("updated_at", ASCENDING),
    "create_time desc": ("created_at", DESCENDING),
    "create_time": ("created_at", ASCENDING),
    "priority desc": ("priority", DESCENDING),
    "priority": ("priority", ASCENDING),
}

Session = AsyncClientSession | None


def _identity(doc: Mapping[str, str]) -> Identity:
    return Identity(Kind(doc["kind"]), doc["value"])


def customer_to_doc(customer: Customer) -> Document:
    doc: Document = plain(dataclasses.asdict(customer))
    doc["_id"] = doc.pop("id")
    return doc


def customer_from_doc(doc: Document) -> Customer:
    return Customer(
        id=doc["_id"],
        display_name=doc.get("display_name", ""),
        identities=[_identity(i) for i in doc.get("identities", [])],
        language=doc.get("language", ""),
        tier=doc.get("tier", ""),
        tags=list(doc.get("tags", [])),
        preferred_agent_id=doc.get("preferred_agent_id", ""),
        last_agent_id=doc.get("last_agent_id", ""),
        merged_into=doc.get("merged_into", ""),
        conflicts=[IdentityConflict(_identity(c["identity"]), c["owner_customer_id"], c["interaction_id"],
                                    c["detected_at"]) for c in doc.get("conflicts", [])],
        version=doc.get("version", 1),
        created_at=doc.get("created_at"),
        updated_at=doc.get("updated_at"),
    )


def ticket_to_doc(ticket: Ticket) -> Document:
    doc: Document = plain(dataclasses.asdict(ticket))
    doc["_id"] = doc.pop("id")
    doc["priority"] = int(ticket.priority)
    doc.update(_sla_watch(ticket))
    return doc


def _sla_watch(ticket: Ticket) -> Document:
    """The due times the SLA loop scans for; absent once met, breached or moot."""
    active = ticket.status in ACTIVE
    sla = ticket.sla
    waiting_first = active and sla.first_response_at is None and not sla.first_response_breached
    return {
        "fr_pending_due": sla.first_response_due if waiting_first else None,
        "res_pending_due": sla.resolution_due if active and not sla.resolution_breached else None,
    }


def ticket_from_doc(doc: Document) -> Ticket:
    sla = doc.get("sla") or {}
    return Ticket(
        id=doc["_id"],
        customer_id=doc["customer_id"],
        subject=doc.get("subject", ""),
        status=Status(doc["status"]),
        priority=Priority(doc.get("priority", Priority.NORMAL)),
        queue=doc.get("queue", ""),
        group=doc.get("group", ""),
        topic=doc.get("topic", ""),
        assignee_id=doc.get("assignee_id", ""),
        tags=list(doc.get("tags", [])),
        origin_channel=doc.get("origin_channel", ""),
        notes=[Note(**n) for n in doc.get("notes", [])],
        links=[Link(LinkKind(link["kind"]), link["ticket_id"]) for link in doc.get("links", [])],
        sla=Sla(**sla),
        csat=doc.get("csat", 0),
        disposition=doc.get("disposition", ""),
        version=doc.get("version", 1),
        created_at=doc.get("created_at"),
        updated_at=doc.get("updated_at"),
        solved_at=doc.get("solved_at"),
        closed_at=doc.get("closed_at"),
        reopen_count=doc.get("reopen_count", 0),
        interaction_count=doc.get("interaction_count", 0),
        first_at=doc.get("first_at"),
        last_at=doc.get("last_at"),
        merged_into=doc.get("merged_into", ""),
    )


def in_groups(groups: Sequence[str]) -> Document:
    """The tickets an agent of `groups` sees: queue or group one of theirs, or neither set (Ticket.groups)."""
    return {"$or": [{"queue": {"$in": list(groups)}}, {"group": {"$in": list(groups)}}, {"queue": "", "group": ""}]}


def candidate(ticket: Ticket) -> Candidate:
    created = ticket.created_at or utcnow()
    return Candidate(id=ticket.id, status=ticket.status, topic=ticket.topic, first_at=ticket.first_at or created,
                     last_at=ticket.last_at or created, done_at=ticket.done_at)


@dataclasses.dataclass
class StoredInteraction:
    id: str
    ticket_id: str
    customer_id: str
    session_id: str
    occurred_at: dt.datetime
    # The serialized omnichannel.common.v1.Interaction.
    raw: bytes
    message_id: str = ""
    created_ticket: bool = False
    # Events to publish for it, kept with it so a redelivery can publish them again (outbox).
    outbox: list[Document] = dataclasses.field(default_factory=list)


class TicketRepository:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.db = db
        self.customers = db[CUSTOMERS]
        self.identities = db[IDENTITIES]
        self.tickets = db[TICKETS]
        self.interactions = db[INTERACTIONS]
        self.counters = db[COUNTERS]

    async def next_number(self, counter: str, session: Session = None, *, start: int = 1000) -> int:
        doc = await self.counters.find_one_and_update(
            {"_id": counter}, {"$inc": {"seq": 1}}, upsert=True, return_document=ReturnDocument.AFTER, session=session
        )
        assert doc is not None
        return start + int(doc["seq"])

    # --- customers and identities ---------------------------------------------------------

    async def find_customer(self, customer_id: str, session: Session = None) -> Customer | None:
        doc = await self.customers.find_one({"_id": customer_id}, session=session)
        return customer_from_doc(doc) if doc else None

    async def get_customer(self, customer_id: str, session: Session = None) -> Customer:
        """The customer, following merge redirects so old ids keep resolving."""
        seen: set[str] = set()
        current = customer_id
        while True:
            customer = await self.find_customer(current, session)
            if customer is None:
                raise NotFound(f"customer {customer_id} does not exist")
            if not customer.merged_into or customer.merged_into in seen:
                return customer
            seen.add(current)
            current = customer.merged_into

    async def owners(self, identities: Sequence[Identity], session: Session = None) -> dict[str, str]:
        """identity key → owning customer id, for the identities someone owns."""
        keys = [i.key for i in identities]
        found = self.identities.find({"_id": {"$in": keys}}, session=session)
        return {doc["_id"]: doc["customer_id"] async for doc in found}

    async def insert_customer(self, customer: Customer, origin_key: str, session: Session = None) -> Customer:
        """Insert; with an `origin_key` already used (a retried create), return the first result."""
        doc = customer_to_doc(customer)
        doc["origin_key"] = origin_key
        try:
            await self.customers.insert_one(doc, session=session)
        except DuplicateKeyError:
            existing = await self.customers.find_one({"origin_key": origin_key}, session=session)
            if existing is None:
                raise
            return customer_from_doc(existing)
        return customer

    async def claim(self, customer_id: str, identity: Identity, session: Session = None) -> str:
        """Give `identity` to the customer unless someone owns it; returns the owner."""
        doc = await update_then_read(
            self.identities, {"_id": identity.key},
            {"$setOnInsert": {"customer_id": customer_id, "kind": identity.kind.value, "value": identity.value}},
            upsert=True, session=session,
        )
        assert doc is not None
        owner = str(doc["customer_id"])
        if owner == customer_id:
            await self.customers.update_one(
                {"_id": customer_id},
                {"$addToSet": {"identities": {"kind": identity.kind.value, "value": identity.value}},
                 "$set": {"updated_at": utcnow()}, "$inc": {"version": 1}},
                session=session,
            )
        return owner

    async def report_conflict(self, customer_id: str, conflict: IdentityConflict, session: Session = None) -> None:
        await self.customers.update_one(
            {"_id": customer_id, "conflicts.identity": {"$ne": plain(dataclasses.asdict(conflict.identity))}},
            {"$push": {"conflicts": plain(dataclasses.asdict(conflict))}},
            session=session,
        )

    async def update_customer(self, customer_id: str, expected_version: int, changes: Mapping[str, Any],
                              session: Session = None) -> Customer:
        doc = await update_versioned(self.customers, {"_id": customer_id}, expected_version,
                                     {"$set": {**plain(dict(changes)), "updated_at": utcnow()}},
                                     what=f"customer {customer_id}", session=session)
        return customer_from_doc(doc)

    async def set_customer_fields(self, customer_id: str, changes: Mapping[str, Any], session: Session = None) -> None:
        await self.customers.update_one({"_id": customer_id},
                                        {"$set": {**plain(dict(changes)), "updated_at": utcnow()},
                                         "$inc": {"version": 1}}, session=session)

    async def list_customers(self, *, tag: str, tier: str, page: PageRequest) -> Page[Customer]:
        query: Document = {"merged_into": ""}
        if tag:
            query["tags"] = tag
        if tier:
            query["tier"] = tier
        found = await find_page(self.customers, query, [("_id", ASCENDING)], page)
        return Page([customer_from_doc(d) for d in found.items], found.next_after)

    async def move_customer(self, source: Customer, target: Customer, session: Session = None) -> None:
        """Re-point everything of `source` at `target` and leave a redirect behind."""
        now = utcnow()
        await self.identities.update_many({"customer_id": source.id}, {"$set": {"customer_id": target.id}},
                                          session=session)
        await self.tickets.update_many({"customer_id": source.id}, {"$set": {"customer_id": target.id}},
                                       session=session)
        await self.interactions.update_many({"customer_id": source.id}, {"$set": {"customer_id": target.id}},
                                            session=session)
        await self.customers.update_one({"_id": source.id}, {"$set": {"merged_into": target.id, "updated_at": now},
                                                             "$inc": {"version": 1}}, session=session)
        await self.customers.update_one({"_id": target.id}, {"$set": customer_to_doc(target) | {"updated_at": now}},
                                        session=session)

    # --- tickets ---------------------------------------------------------------------------

    async def find_ticket(self, ticket_id: str, session: Session = None) -> Ticket | None:
        doc = await self.tickets.find_one({"_id": ticket_id}, session=session)
        return ticket_from_doc(doc) if doc else None

    async def get_ticket(self, ticket_id: str, session: Session = None) -> Ticket:
        ticket = await self.find_ticket(ticket_id, session)
        if ticket is None:
            raise NotFound(f"ticket {ticket_id} does not exist")
        return ticket

    async def resolve_ticket(self, ticket_id: str, session: Session = None) -> Ticket | None:
        """The ticket, or the one it was merged into (followed to the end)."""
        seen: set[str] = set()
        ticket = await self.find_ticket(ticket_id, session)
        while ticket is not None and ticket.merged_into and ticket.merged_into not in seen:
            seen.add(ticket.id)
            ticket = await self.find_ticket(ticket.merged_into, session)
        return ticket

    async def insert_ticket(self, ticket: Ticket, origin_key: str, session: Session = None) -> tuple[Ticket, bool]:
        """Insert; returns (ticket, created). A repeated `origin_key` returns the first ticket."""
        doc = ticket_to_doc(ticket)
        doc["origin_key"] = origin_key
        try:
            await self.tickets.insert_one(doc, session=session)
        except DuplicateKeyError:
            existing = await self.tickets.find_one({"origin_key": origin_key}, session=session)
            if existing is None:
                raise
            return ticket_from_doc(existing), False
        return ticket, True

    async def ticket_by_origin(self, origin_key: str) -> Ticket | None:
        doc = await self.tickets.find_one({"origin_key": origin_key})
        return ticket_from_doc(doc) if doc else None

    async def save_ticket(self, ticket: Ticket, expected_version: int, session: Session = None) -> Ticket:
        """Write the whole ticket if nobody changed it since `expected_version` (else ABORTED)."""
        doc = ticket_to_doc(ticket)
        doc.pop("_id")
        doc.pop("version")
        doc["updated_at"] = utcnow()
        stored = await update_versioned(self.tickets, {"_id": ticket.id}, expected_version, {"$set": doc},
                                        what=f"ticket {ticket.id}", session=session)
        return ticket_from_doc(stored)

    async def active_tickets(self, customer_id: str, session: Session = None, limit: int = 50) -> list[Ticket]:
        cursor = self.tickets.find({"customer_id": customer_id, "status": {"$in": [s.value for s in ACTIVE]}},
                                   session=session).limit(limit)
        return [ticket_from_doc(d) async for d in cursor]

    async def count_tickets(self, customer_id: str) -> int:
        return await self.tickets.count_documents({"customer_id": customer_id})

    async def list_tickets(self, query: Document, order_by: str, page: PageRequest) -> Page[Ticket]:
        field, direction = ORDERS[order_by]
        found = await find_page(self.tickets, query, [(field, direction), ("_id", direction)], page)
        return Page([ticket_from_doc(d) for d in found.items], found.next_after)

    async def overdue(self, field: str, now: dt.datetime, limit: int = 100) -> list[Ticket]:
        docs = await self.tickets.find({field: {"$lte": now}}).limit(limit).to_list()
        return [ticket_from_doc(d) for d in docs]

    async def mark_breached(self, ticket_id: str, target: str) -> Ticket | None:
        """Flag one breach; None when it was already flagged (or met meanwhile)."""
        watch = "fr_pending_due" if target == "first_response" else "res_pending_due"
        doc = await update_then_read(
            self.tickets, {"_id": ticket_id},
            {"$set": {f"sla.{target}_breached": True, watch: None}, "$inc": {"version": 1}},
            condition={watch: {"$ne": None}},
        )
        return ticket_from_doc(doc) if doc else None

    # --- interactions ----------------------------------------------------------------------

    async def find_interaction(self, interaction_id: str, session: Session = None) -> StoredInteraction | None:
        doc = await self.interactions.find_one({"_id": interaction_id}, session=session)
        return _interaction_from_doc(doc) if doc else None

    async def insert_interaction(self, record: StoredInteraction, session: Session = None) -> None:
        doc = plain(dataclasses.asdict(record))
        doc["_id"] = doc.pop("id")
        doc["raw"] = Binary(record.raw)
        await self.interactions.insert_one(doc, session=session)

    async def session_ticket(self, session_id: str, session: Session = None) -> str:
        doc = await self.interactions.find_one({"session_id": session_id, "ticket_id": {"$ne": ""}},
                                               {"ticket_id": 1}, session=session)
        return str(doc["ticket_id"]) if doc else ""

    async def session_customer(self, session_id: str, session: Session = None) -> str:
        doc = await self.interactions.find_one({"session_id": session_id}, {"customer_id": 1}, session=session)
        return str(doc["customer_id"]) if doc else ""

    async def ticket_of_messages(self, message_ids: Sequence[str], session: Session = None) -> str:
        doc = await self.interactions.find_one({"message_id": {"$in": list(message_ids)}, "ticket_id": {"$ne": ""}},
                                               {"ticket_id": 1}, session=session)
        return str(doc["ticket_id"]) if doc else ""

    async def timeline(self, ticket_id: str, limit: int = TIMELINE_LIMIT) -> list[StoredInteraction]:
        cursor = self.interactions.find({"ticket_id": ticket_id}).sort("occurred_at", ASCENDING).limit(limit)
        return [_interaction_from_doc(d) async for d in cursor]

    async def newest(self, ticket_id: str, limit: int, max_bytes: int) -> list[StoredInteraction]:
        """The ticket's newest interactions, at most `limit` of them and `max_bytes` of their
        content (always the newest one), oldest first."""
        cursor = self.interactions.find({"ticket_id": ticket_id}).sort("occurred_at", DESCENDING).limit(limit)
        kept: list[StoredInteraction] = []
        size = 0
        async for doc in cursor:
            size += len(doc["raw"])
            if kept and size > max_bytes:
                break
            kept.append(_interaction_from_doc(doc))
        return kept[::-1]

    async def ticket_ids(self, query: Document) -> list[str]:
        return [str(d["_id"]) async for d in self.tickets.find(query, {"_id": 1})]

    async def recent_for_customer(self, customer_id: str, limit: int,
                                  ticket_ids: Sequence[str] | None = None) -> list[StoredInteraction]:
        """The customer's latest interactions; with `ticket_ids`, only those on these tickets."""
        query: Document = {"customer_id": customer_id}
        if ticket_ids is not None:
            query["ticket_id"] = {"$in": list(ticket_ids)}
        cursor = self.interactions.find(query).sort("occurred_at", DESCENDING).limit(limit)
        return [_interaction_from_doc(d) async for d in cursor]

    async def move_interactions(self, from_ticket: str, to_ticket: str, ids: Sequence[str] | None = None,
                                session: Session = None) -> int:
        query: Document = {"ticket_id": from_ticket}
        if ids is not None:
            query["_id"] = {"$in": list(ids)}
        result = await self.interactions.update_many(query, {"$set": {"ticket_id": to_ticket}}, session=session)
        return result.modified_count

    async def span_of(self, ticket_id: str, session: Session = None) -> tuple[int, dt.datetime | None,
                                                                               dt.datetime | None]:
        """(count, first occurred_at, last occurred_at) of a ticket's interactions."""
        docs = await self.interactions.find({"ticket_id": ticket_id}, {"occurred_at": 1},
                                            session=session).to_list()
        times = sorted(d["occurred_at"] for d in docs)
        return len(times), (times[0] if times else None), (times[-1] if times else None)


def _interaction_from_doc(doc: Document) -> StoredInteraction:
    return StoredInteraction(
        id=doc["_id"], ticket_id=doc.get("ticket_id", ""), customer_id=doc.get("customer_id", ""),
        session_id=doc.get("session_id", ""), occurred_at=doc["occurred_at"], raw=bytes(doc["raw"]),
        message_id=doc.get("message_id", ""), created_ticket=doc.get("created_ticket", False),
        outbox=list(doc.get("outbox", [])),
    )


def customer_changes(customer: Customer, paths: Sequence[str]) -> dict[str, Any]:
    return {path: plain(getattr(customer, path)) for path in paths}
