"""Customers, identities, tickets and interactions in MongoDB (the tickets service's database).

The only module that speaks MongoDB: it translates the domain's descriptions (the access rule's
`InGroups`, list filters and orders) into queries. A repository made `within` a transaction does
every read and write in it (ingestion's one transaction per interaction, see
`usecases/ingestion.py`). Identity ownership lives in its own collection keyed by the
normalised identity, so "who owns +8613800138000" is one primary-key read and two customers
can never both claim a number.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, TypeVar

import bson
from bson.binary import Binary
from pymongo import ASCENDING, DESCENDING, IndexModel, InsertOne, ReplaceOne, ReturnDocument, UpdateOne
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase

from omni.runtime.channels import Channel
from omni.runtime.clock import utcnow
from omni.runtime.errors import Conflict, NotFound
from omni.runtime.paging import Page, PageRequest
from omni.runtime.storage import (
    Document,
    IndexDeclarations,
    find_page,
    insert_once,
    plain,
    update_then_read,
    update_versioned,
)
from omni.tickets.domain.access import InGroups
from omni.tickets.domain.customers import following_merges
from omni.tickets.domain.identities import Identity, Kind
from omni.tickets.domain.lifecycle import ACTIVE, DONE, Priority, Status
from omni.tickets.domain.model import (
    Bounce,
    Customer,
    IdentityConflict,
    InteractionRecord,
    Link,
    LinkKind,
    Note,
    OutboxEvent,
    Sla,
    Ticket,
)
from omni.tickets.domain.sla import Target, pending
from omni.tickets.domain.tickets import Order, SortKey, TicketFilter

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
        # The screen pop's history in its paging order (`customer_history`).
        IndexModel([("customer_id", ASCENDING), ("occurred_at", DESCENDING), ("_id", DESCENDING)],
                   name="customer_history_paged"),
        IndexModel([("session_id", ASCENDING)], name="session"),
        IndexModel([("message_id", ASCENDING)], name="message_id"),
    ],
}

TIMELINE_LIMIT = 500
# Customer and ticket numbers (C-1001, T-1001, ...) count up from here.
NUMBERS_FROM = 1000
# The stored field each ListTickets sort key reads.
SORT_FIELDS: Mapping[SortKey, str] = {
    SortKey.UPDATE_TIME: "updated_at",
    SortKey.CREATE_TIME: "created_at",
    SortKey.PRIORITY: "priority",
}
# The stored due time the SLA loop scans per target; cleared once met, breached or moot.
WATCHED_DUE: Mapping[Target, str] = {
    Target.FIRST_RESPONSE: "fr_pending_due",
    Target.RESOLUTION: "res_pending_due",
}
# A transaction the use cases run a unit of work in (`TicketRepository.within`).
Transaction = AsyncClientSession
T = TypeVar("T")


@dataclasses.dataclass
class SessionTrail:
    """What earlier interactions of a session settled: its customer, and the ticket it threads to."""

    customer_id: str = ""
    ticket_id: str = ""


@dataclasses.dataclass
class CustomerGrowth:
    """What threading adds to a customer that already existed: identities it claimed, conflicts
    it met, fields it filled, and how many versions that is worth."""

    identities: list[Identity] = dataclasses.field(default_factory=list)
    conflicts: list[IdentityConflict] = dataclasses.field(default_factory=list)
    fields: dict[str, Any] = dataclasses.field(default_factory=dict)
    versions: int = 0


@dataclasses.dataclass
class ThreadedWrites:
    """Everything a batch of interactions writes, in one bulk write per collection
    (`TicketRepository.write_threaded`), in the transaction that read what it changes."""

    customers: list[tuple[Customer, str]] = dataclasses.field(default_factory=list)
    grown: dict[str, CustomerGrowth] = dataclasses.field(default_factory=dict)
    claims: list[tuple[Identity, str]] = dataclasses.field(default_factory=list)
    tickets: list[tuple[Ticket, str]] = dataclasses.field(default_factory=list)
    saved: list[Ticket] = dataclasses.field(default_factory=list)
    interactions: list[InteractionRecord] = dataclasses.field(default_factory=list)


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
        merged_from=list(doc.get("merged_from", [])),
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
    doc["origin_channel"] = doc["origin_channel"] or ""
    doc.update({WATCHED_DUE[target]: due for target, due in pending(ticket).items()})
    if not doc["origin_key"]:
        del doc["origin_key"]  # not known here (a ticket not read from the store): kept as stored
    return doc


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
        origin_channel=Channel(doc["origin_channel"]) if doc.get("origin_channel") else None,
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
        participants=list(doc.get("participants", [])),
        routing_epochs=dict(doc.get("routing_epochs", {})),
        origin_key=doc.get("origin_key", ""),
    )


def _visible(scope: InGroups | None) -> Document:
    """The query of the access rule's description (`domain/access.py`): a ticket is in `scope`
    when its queue or group is one of the groups, or when it has neither."""
    if scope is None:
        return {}
    groups = list(scope.groups)
    return {"$or": [{"queue": {"$in": groups}}, {"group": {"$in": groups}}, {"queue": "", "group": ""}]}


def _ticket_query(where: TicketFilter, scope: InGroups | None) -> Document:
    query: Document = {}
    if where.customer_id:
        query["customer_id"] = where.customer_id
    if where.statuses:
        query["status"] = {"$in": [s.value for s in where.statuses]}
    for field, value in (("queue", where.queue), ("assignee_id", where.assignee_id), ("tags", where.tag)):
        if value:
            query[field] = value
    return query | _visible(scope)


class TicketRepository:
    def __init__(self, db: AsyncDatabase[Document], session: Transaction | None = None) -> None:
        self._db = db
        self._session = session
        self._customers = db[CUSTOMERS]
        self._identities = db[IDENTITIES]
        self._tickets = db[TICKETS]
        self._interactions = db[INTERACTIONS]
        self._counters = db[COUNTERS]

    def within(self, session: Transaction) -> TicketRepository:
        """This repository for one unit of work: every read and write joins `session`'s transaction."""
        return TicketRepository(self._db, session)

    async def next_number(self, counter: str) -> int:
        doc = await self._counters.find_one_and_update(
            {"_id": counter}, {"$inc": {"seq": 1}}, upsert=True, return_document=ReturnDocument.AFTER,
            session=self._session,
        )
        assert doc is not None
        return NUMBERS_FROM + int(doc["seq"])

    # --- customers and identities ---------------------------------------------------------

    async def find_customer(self, customer_id: str) -> Customer | None:
        doc = await self._customers.find_one({"_id": customer_id}, session=self._session)
        return customer_from_doc(doc) if doc else None

    async def get_customer(self, customer_id: str) -> Customer:
        """The customer, following merge redirects so old ids keep resolving."""
        return await following_merges(customer_id, self.find_customer)

    async def owners(self, identities: Sequence[Identity]) -> dict[str, str]:
        """identity key → owning customer id, for the identities someone owns."""
        keys = [i.key for i in identities]
        found = self._identities.find({"_id": {"$in": keys}}, session=self._session)
        return {doc["_id"]: doc["customer_id"] async for doc in found}

    async def insert_customer(self, customer: Customer, origin_key: str) -> Customer:
        """Insert; with an `origin_key` already used (a retried create), return the first result."""
        doc, _ = await insert_once(self._customers, customer_to_doc(customer), origin_key, session=self._session)
        return customer_from_doc(doc)

    async def claim(self, customer_id: str, identity: Identity) -> str:
        """Give `identity` to the customer unless someone owns it; returns the owner."""
        doc = await update_then_read(
            self._identities, {"_id": identity.key},
            {"$setOnInsert": {"customer_id": customer_id, "kind": identity.kind.value, "value": identity.value}},
            upsert=True, session=self._session,
        )
        assert doc is not None
        owner = str(doc["customer_id"])
        if owner == customer_id:
            await self._customers.update_one(
                {"_id": customer_id},
                {"$addToSet": {"identities": {"kind": identity.kind.value, "value": identity.value}},
                 "$set": {"updated_at": utcnow()}, "$inc": {"version": 1}},
                session=self._session,
            )
        return owner

    async def report_conflict(self, customer_id: str, conflict: IdentityConflict) -> None:
        await self._customers.update_one(
            {"_id": customer_id, "conflicts.identity": {"$ne": plain(dataclasses.asdict(conflict.identity))}},
            {"$push": {"conflicts": plain(dataclasses.asdict(conflict))}},
            session=self._session,
        )

    async def update_customer(self, customer_id: str, change: Customer, paths: Sequence[str]) -> Customer:
        """Write the fields of `change` named by `paths` if nobody changed the customer since `change.version`."""
        changes = {path: plain(getattr(change, path)) for path in paths}
        await update_versioned(self._customers, {"_id": customer_id}, change.version,
                               {"$set": {**changes, "updated_at": utcnow()}},
                               what=f"customer {customer_id}", session=self._session)
        # Read back: outside a transaction this may already show a later writer's change.
        written = await self.find_customer(customer_id)
        if written is None:
            raise NotFound(f"customer {customer_id} does not exist")
        return written

    async def set_customer_fields(self, customer_id: str, changes: Mapping[str, Any]) -> None:
        """Set fields of the customer (by attribute name) whatever its version."""
        await self._customers.update_one({"_id": customer_id},
                                         {"$set": {**plain(dict(changes)), "updated_at": utcnow()},
                                          "$inc": {"version": 1}}, session=self._session)

    async def list_customers(self, *, tag: str, tier: str, page: PageRequest) -> Page[Customer]:
        query: Document = {"merged_into": ""}
        if tag:
            query["tags"] = tag
        if tier:
            query["tier"] = tier
        found = await find_page(self._customers, query, [("_id", ASCENDING)], page)
        return Page([customer_from_doc(d) for d in found.items], found.next_after)

    async def move_customer(self, source: Customer, target: Customer, target_version: int) -> None:
        """Re-point everything of `source` at `target` (as `domain/customers.merged` made it) and
        leave a redirect behind; Conflict if the source changed since it was read or the target
        since `target_version`.
        Call it `within` a transaction: several collections change together."""
        now = utcnow()
        repoint = {"$set": {"customer_id": target.id}}
        await update_versioned(self._customers, {"_id": source.id}, source.version,
                               {"$set": {"merged_into": target.id, "updated_at": now}},
                               what=f"customer {source.id}", session=self._session)
        whole = customer_to_doc(target) | {"updated_at": now}
        for field in ("_id", "version"):
            whole.pop(field)
        await update_versioned(self._customers, {"_id": target.id}, target_version, {"$set": whole},
                               what=f"customer {target.id}", session=self._session)
        await self._identities.update_many({"customer_id": source.id}, repoint, session=self._session)
        await self._tickets.update_many({"customer_id": source.id}, repoint, session=self._session)
        await self._interactions.update_many({"customer_id": source.id}, repoint, session=self._session)

    async def atomically(self, work: Callable[[TicketRepository], Awaitable[T]]) -> T:
        """`work` on a repository whose reads and writes are one transaction: all of it takes
        effect or none (retried whole on a transient error such as a write conflict)."""
        async with self._db.client.start_session() as session:
            return await session.with_transaction(lambda s: work(self.within(s)))

    # --- tickets ---------------------------------------------------------------------------

    async def find_ticket(self, ticket_id: str) -> Ticket | None:
        doc = await self._tickets.find_one({"_id": ticket_id}, session=self._session)
        return ticket_from_doc(doc) if doc else None

    async def get_ticket(self, ticket_id: str) -> Ticket:
        ticket = await self.find_ticket(ticket_id)
        if ticket is None:
            raise NotFound(f"ticket {ticket_id} does not exist")
        return ticket

    async def resolve_ticket(self, ticket_id: str) -> Ticket | None:
        """The ticket, or the one it was merged into (followed to the end)."""
        seen: set[str] = set()
        ticket = await self.find_ticket(ticket_id)
        while ticket is not None and ticket.merged_into and ticket.merged_into not in seen:
            seen.add(ticket.id)
            ticket = await self.find_ticket(ticket.merged_into)
        return ticket

    async def insert_ticket(self, ticket: Ticket, origin_key: str) -> tuple[Ticket, bool]:
        """Insert; returns (ticket, created). A repeated `origin_key` returns the first ticket."""
        doc, created = await insert_once(self._tickets, ticket_to_doc(ticket), origin_key, session=self._session)
        return ticket_from_doc(doc), created

    async def ticket_by_origin(self, origin_key: str) -> Ticket | None:
        doc = await self._tickets.find_one({"origin_key": origin_key}, session=self._session)
        return ticket_from_doc(doc) if doc else None

    async def save_ticket(self, ticket: Ticket, expected_version: int) -> Ticket:
        """Write the whole ticket if nobody changed it since `expected_version` (else Conflict);
        returns it as stored (not read back: every field but the origin key, which the ticket
        carries when it was read from the store, was just written)."""
        doc = ticket_to_doc(ticket)
        doc.pop("_id")
        doc.pop("version")
        doc["updated_at"] = utcnow()
        version = await update_versioned(self._tickets, {"_id": ticket.id}, expected_version, {"$set": doc},
                                         what=f"ticket {ticket.id}", session=self._session)
        # Through BSON, so that times are what a read returns (milliseconds, the client's zone).
        stored = bson.decode(bson.encode(doc | {"_id": ticket.id, "version": version}),
                             codec_options=self._tickets.codec_options)
        return ticket_from_doc(stored)

    async def active_tickets(self, customer_id: str, limit: int = 50) -> list[Ticket]:
        cursor = self._tickets.find({"customer_id": customer_id, "status": {"$in": [s.value for s in ACTIVE]}},
                                    session=self._session).limit(limit)
        return [ticket_from_doc(d) async for d in cursor]

    async def customer_tickets(self, customer_id: str) -> list[Ticket]:
        """Every ticket of the customer, in one indexed read (the screen pop needs them all for the
        access rule and the active ones in full; on SecantusDB a read costs more than its bytes)."""
        return [ticket_from_doc(d) async for d in self._tickets.find({"customer_id": customer_id},
                                                                      session=self._session)]

    async def ticket_places(self, customer_id: str) -> dict[str, list[str]]:
        """Every ticket of the customer: id → the queue and group it has set (`Ticket.groups`), for
        the access rule's in-memory check. One indexed read of three fields; SecantusDB answers a
        filter with a top-level `$or` (the rule as a query) by scanning the whole collection."""
        found = self._tickets.find({"customer_id": customer_id}, {"queue": 1, "group": 1}, session=self._session)
        return {doc["_id"]: [g for g in (doc.get("queue", ""), doc.get("group", "")) if g] async for doc in found}

    async def list_tickets(self, where: TicketFilter, scope: InGroups | None, order: Order,
                           page: PageRequest) -> Page[Ticket]:
        """The tickets matching `where` that `scope` admits, in `order`."""
        direction = DESCENDING if order.descending else ASCENDING
        sort = [(SORT_FIELDS[order.key], direction), ("_id", direction)]
        found = await find_page(self._tickets, _ticket_query(where, scope), sort, page)
        return Page([ticket_from_doc(d) for d in found.items], found.next_after)

    async def overdue(self, target: Target, now: dt.datetime, limit: int = 100) -> list[Ticket]:
        """Tickets whose `target` fell due by `now` and is not yet flagged as breached."""
        cursor = self._tickets.find({WATCHED_DUE[target]: {"$lte": now}}, session=self._session).limit(limit)
        return [ticket_from_doc(d) for d in await cursor.to_list()]

    async def mark_breached(self, ticket_id: str, target: Target) -> Ticket | None:
        """Flag one breach; None when it was already flagged (or met meanwhile)."""
        watch = WATCHED_DUE[target]
        doc = await update_then_read(
            self._tickets, {"_id": ticket_id},
            {"$set": {f"sla.{target.value}_breached": True, watch: None}, "$inc": {"version": 1}},
            condition={watch: {"$ne": None}}, session=self._session,
        )
        return ticket_from_doc(doc) if doc else None

    # --- a batch of interactions (ingestion reads each kind once, writes each collection once) ----

    async def customers_by_id(self, customer_ids: Sequence[str]) -> dict[str, Customer]:
        if not customer_ids:
            return {}  # a first contact names no customer: no round trip to learn nothing
        found = self._customers.find({"_id": {"$in": list(customer_ids)}}, session=self._session)
        return {doc["_id"]: customer_from_doc(doc) async for doc in found}

    async def tickets_named_or_active(self, ticket_ids: Sequence[str], customer_ids: Sequence[str],
                                      done_since: dt.datetime | None) -> list[Ticket]:
        """The tickets named, the active ones of the customers and those done since `done_since`
        (what threading may join or reopen). Separate queries, not one `$or`: SecantusDB answers
        a top-level `$or` by scanning the collection."""
        found: dict[str, Document] = {}
        if ticket_ids:
            named = self._tickets.find({"_id": {"$in": list(ticket_ids)}}, session=self._session)
            found.update({doc["_id"]: doc async for doc in named})
        if customer_ids:
            active = self._tickets.find({"customer_id": {"$in": list(customer_ids)},
                                         "status": {"$in": [s.value for s in ACTIVE]}}, session=self._session)
            found.update({doc["_id"]: doc async for doc in active})
        found.update({t.id: ticket_to_doc(t) for t in await self.done_tickets(customer_ids, done_since)})
        return [ticket_from_doc(doc) for doc in found.values()]

    async def done_tickets(self, customer_ids: Sequence[str], since: dt.datetime | None) -> list[Ticket]:
        """The customers' solved and closed tickets last changed since `since` (a ticket is last
        changed when it is done or later, so none done since then is missed), merged ones left
        out; none when `since` is None. Unsorted: a sort would have SecantusDB walk the
        `updated_at` index of every ticket instead of this customer's."""
        if since is None or not customer_ids:
            return []
        cursor = self._tickets.find({"customer_id": {"$in": list(customer_ids)},
                                     "status": {"$in": [s.value for s in DONE]}, "merged_into": "",
                                     "updated_at": {"$gte": since}}, session=self._session)
        return [ticket_from_doc(d) async for d in cursor]

    async def trails(self, session_ids: Sequence[str],
                     message_ids: Sequence[str]) -> tuple[dict[str, SessionTrail], dict[str, str]]:
        """Per session what its stored interactions settled (the first customer and the first
        ticket, as `session_customer`/`session_ticket` read them), and Message-ID → ticket."""
        sessions: dict[str, SessionTrail] = {}
        fields = {"session_id": 1, "customer_id": 1, "ticket_id": 1, "message_id": 1}
        if session_ids:
            async for doc in self._interactions.find({"session_id": {"$in": list(session_ids)}}, fields,
                                                     session=self._session):
                trail = sessions.setdefault(doc["session_id"], SessionTrail(customer_id=doc.get("customer_id", "")))
                trail.ticket_id = trail.ticket_id or doc.get("ticket_id", "")
        messages: dict[str, str] = {}
        if message_ids:
            threads = {"message_id": {"$in": list(message_ids)}, "ticket_id": {"$ne": ""}}
            async for doc in self._interactions.find(threads, fields, session=self._session):
                messages.setdefault(doc["message_id"], doc["ticket_id"])
        return sessions, messages

    async def reserve_numbers(self, counter: str, count: int) -> int:
        """Reserve the next `count` numbers of `counter` and return the last of them: one atomic
        increment outside any transaction, so a number reserved is never issued again
        (`usecases/numbering.py`)."""
        doc = await self._counters.find_one_and_update(
            {"_id": counter}, {"$inc": {"seq": count}}, upsert=True, return_document=ReturnDocument.AFTER)
        assert doc is not None
        return NUMBERS_FROM + int(doc["seq"])

    async def write_threaded(self, writes: ThreadedWrites) -> None:
        """Bulk-write a batch's changes, in the transaction that read what they change.

        A saved ticket is written by `_id` alone, not `{_id, version}` as `save_ticket` does: it
        was read in this same transaction, so a change by anyone after that read makes this write
        a write conflict (the transaction runs again on the new state) — the version filter would
        add nothing but cost: SecantusDB answers `_id` alone by a point lookup and `{_id, version}`
        by reading the whole collection. It is replaced whole (it was read whole, origin key
        included): SecantusDB checks every path of a `$set` and diffs the document for its oplog,
        which made a ticket's `$set` cost about 40 % more than its replacement (`bench/store_writes.py`)."""
        now = utcnow()
        if writes.customers:
            await self._customers.insert_many([customer_to_doc(c) | {"origin_key": origin}
                                               for c, origin in writes.customers], session=self._session)
        if writes.claims:
            await self._identities.insert_many([{"_id": i.key, "customer_id": owner, "kind": i.kind.value,
                                                 "value": i.value} for i, owner in writes.claims],
                                               session=self._session)
        grown = [UpdateOne({"_id": customer_id}, _growth(growth, now)) for customer_id, growth in writes.grown.items()]
        if grown:
            await self._customers.bulk_write(grown, ordered=True, session=self._session)
        ticket_writes: list[InsertOne[Document] | ReplaceOne[Document]] = [
            InsertOne(ticket_to_doc(t) | {"origin_key": origin}) for t, origin in writes.tickets]
        for ticket in writes.saved:
            if not ticket.origin_key:
                raise ValueError(f"ticket {ticket.id} was not read from the store: it cannot be replaced")
            ticket_writes.append(ReplaceOne({"_id": ticket.id}, ticket_to_doc(ticket)))
        if ticket_writes:
            result = await self._tickets.bulk_write(ticket_writes, ordered=True, session=self._session)
            if result.matched_count != len(writes.saved):
                raise Conflict("a ticket of the batch was deleted meanwhile; retry")
        if writes.interactions:
            await self._interactions.insert_many([_interaction_to_doc(r) for r in writes.interactions],
                                                 session=self._session)

    async def interactions_by_id(self, interaction_ids: Sequence[str]) -> list[InteractionRecord]:
        found = self._interactions.find({"_id": {"$in": list(interaction_ids)}}, session=self._session)
        return [_interaction_from_doc(doc) async for doc in found]

    # --- interactions ----------------------------------------------------------------------

    async def find_interaction(self, interaction_id: str) -> InteractionRecord | None:
        doc = await self._interactions.find_one({"_id": interaction_id}, session=self._session)
        return _interaction_from_doc(doc) if doc else None

    async def insert_interaction(self, record: InteractionRecord) -> None:
        await self._interactions.insert_one(_interaction_to_doc(record), session=self._session)

    async def session_ticket(self, session_id: str) -> str:
        doc = await self._interactions.find_one({"session_id": session_id, "ticket_id": {"$ne": ""}},
                                                {"ticket_id": 1}, session=self._session)
        return str(doc["ticket_id"]) if doc else ""

    async def session_customer(self, session_id: str) -> str:
        doc = await self._interactions.find_one({"session_id": session_id}, {"customer_id": 1},
                                                session=self._session)
        return str(doc["customer_id"]) if doc else ""

    async def ticket_of_messages(self, message_ids: Sequence[str]) -> str:
        doc = await self._interactions.find_one({"message_id": {"$in": list(message_ids)}, "ticket_id": {"$ne": ""}},
                                                {"ticket_id": 1}, session=self._session)
        return str(doc["ticket_id"]) if doc else ""

    async def mark_bounced(self, bounce: Bounce) -> InteractionRecord | None:
        """Flag our outbound mail `bounce` returns; None when no such mail is recorded."""
        doc = await self._interactions.find_one_and_update(
            {"message_id": bounce.original_message_id}, {"$set": {"bounce": dataclasses.asdict(bounce)}},
            return_document=ReturnDocument.AFTER, session=self._session)
        return _interaction_from_doc(doc) if doc else None

    async def timeline(self, ticket_id: str, limit: int = TIMELINE_LIMIT) -> list[InteractionRecord]:
        cursor = self._interactions.find({"ticket_id": ticket_id}, session=self._session) \
            .sort("occurred_at", ASCENDING).limit(limit)
        return [_interaction_from_doc(d) async for d in cursor]

    async def newest(self, ticket_id: str, limit: int, max_bytes: int) -> list[InteractionRecord]:
        """The ticket's newest interactions, at most `limit` of them and `max_bytes` of their
        content (always the newest one), oldest first."""
        cursor = self._interactions.find({"ticket_id": ticket_id}, session=self._session) \
            .sort("occurred_at", DESCENDING).limit(limit)
        kept: list[InteractionRecord] = []
        size = 0
        async for doc in cursor:
            size += len(doc["raw"])
            if kept and size > max_bytes:
                break
            kept.append(_interaction_from_doc(doc))
        return kept[::-1]

    async def customer_history(self, customer_id: str, page: PageRequest,
                               ticket_ids: Sequence[str] | None = None) -> Page[InteractionRecord]:
        """The customer's interactions, latest first, one page after `page.after` (the
        (occurred_at, id) of the last one served); with `ticket_ids`, only those on these tickets.

        After a position: two indexed reads at once (the rest of its instant, then older ones),
        not the keyset `$or` condition, which SecantusDB answers by scanning the collection."""
        query: Document = {"customer_id": customer_id}
        if ticket_ids is not None:
            query["ticket_id"] = {"$in": list(ticket_ids)}
        wanted = page.size + 1

        async def read(position: Document) -> list[Document]:
            # Without the outbox: the events each interaction published are most of its bytes.
            cursor = self._interactions.find({**query, **position}, {"outbox": 0}, session=self._session) \
                .sort([("occurred_at", DESCENDING), ("_id", DESCENDING)]).limit(wanted)
            return await cursor.to_list()

        if page.after is None:
            docs = await read({})
        else:
            at, last_id = page.after
            same, older = await asyncio.gather(read({"occurred_at": at, "_id": {"$lt": last_id}}),
                                               read({"occurred_at": {"$lt": at}}))
            docs = (same + older)[:wanted]
        records = [_interaction_from_doc(d) for d in docs[:page.size]]
        if len(docs) <= page.size:
            return Page(records)
        return Page(records, (records[-1].occurred_at, records[-1].id))

    async def move_interactions(self, from_ticket: str, to_ticket: str, ids: Sequence[str] | None = None) -> int:
        query: Document = {"ticket_id": from_ticket}
        if ids is not None:
            query["_id"] = {"$in": list(ids)}
        result = await self._interactions.update_many(query, {"$set": {"ticket_id": to_ticket}},
                                                      session=self._session)
        return result.modified_count

    async def span_of(self, ticket_id: str) -> tuple[int, dt.datetime | None, dt.datetime | None]:
        """(count, first occurred_at, last occurred_at) of a ticket's interactions."""
        docs = await self._interactions.find({"ticket_id": ticket_id}, {"occurred_at": 1},
                                             session=self._session).to_list()
        times = sorted(d["occurred_at"] for d in docs)
        return len(times), (times[0] if times else None), (times[-1] if times else None)


def _growth(growth: CustomerGrowth, now: dt.datetime) -> Document:
    """The update `claim`, `report_conflict` and `set_customer_fields` would have made one by one."""
    update: Document = {"$set": {**plain(growth.fields), "updated_at": now}, "$inc": {"version": growth.versions}}
    if growth.identities:
        update["$addToSet"] = {"identities": {"$each": [{"kind": i.kind.value, "value": i.value}
                                                        for i in growth.identities]}}
    if growth.conflicts:
        update["$push"] = {"conflicts": {"$each": [plain(dataclasses.asdict(c)) for c in growth.conflicts]}}
    return update


def _interaction_to_doc(record: InteractionRecord) -> Document:
    doc: Document = plain(dataclasses.asdict(record))
    doc["_id"] = doc.pop("id")
    doc["raw"] = Binary(record.raw)
    return doc


def _interaction_from_doc(doc: Document) -> InteractionRecord:
    return InteractionRecord(
        id=doc["_id"], ticket_id=doc.get("ticket_id", ""), customer_id=doc.get("customer_id", ""),
        session_id=doc.get("session_id", ""), occurred_at=doc["occurred_at"], raw=bytes(doc["raw"]),
        message_id=doc.get("message_id", ""), created_ticket=doc.get("created_ticket", False),
        third_party=doc.get("third_party", False), bounce=Bounce(**doc["bounce"]) if doc.get("bounce") else None,
        outbox=[OutboxEvent(type=e["type"], subject=e["subject"], id=e["id"], payload=bytes(e["payload"]))
                for e in doc.get("outbox", [])],
    )
