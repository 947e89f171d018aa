"""What a batch of interactions is threaded against, in memory for the length of its transaction.

`prefetch` reads what the batch will ask about with one query per kind (identity owners, the
trails of its sessions and Message-IDs, customers, candidate tickets). The batch is then threaded
in order against this workspace, so a later interaction sees what an earlier one did (a customer
it created, an identity it claimed, a ticket it opened or joined), and `commit` writes everything
with one bulk write per collection. What the prefetch did not cover (following a merged-into
redirect, the active tickets of a customer reached only through one) is read from the same
transaction on first use. Everything is read and written in the batch's transaction, so a ticket
somebody changed after the batch read it makes the commit a write conflict and the batch runs
again on the new state: no change is ever written over (as one by one, where the version decides).
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from omni.runtime.clock import utcnow
from omni.runtime.errors import Conflict, NotFound
from omni.tickets.domain import threading
from omni.tickets.domain.customers import following_merges
from omni.tickets.domain.identities import Identity, readable
from omni.tickets.domain.lifecycle import ACTIVE
from omni.tickets.domain.model import Bounce, Customer, IdentityConflict, Interaction, InteractionRecord, Ticket
from omni.tickets.repository import CustomerGrowth, SessionTrail, ThreadedWrites, TicketRepository
from omni.tickets.usecases.identity_owners import KnownOwners
from omni.tickets.usecases.numbering import NumberPool

# As many active tickets of one customer as threading weighs (the repository's default).
ACTIVE_CANDIDATES = 50


class Workspace:
    def __init__(self, tx: TicketRepository, numbers: NumberPool, known: KnownOwners, *,
                 done_since: dt.datetime | None) -> None:
        """`done_since`: solved and closed tickets done before this are no candidates (None: none
        are, the batch has no contact that threads by topic). `numbers`: where new customers and
        tickets take their numbers (given back by `abandon` if the batch does not commit). `known`:
        identity owners remembered across batches (`claimed` tells what to add once committed)."""
        self._tx = tx
        self._pool = numbers
        self._known = known
        self._done_since = done_since
        # Known answers; a key missing here is read from the transaction when first asked.
        self._owners: dict[str, str | None] = {}
        self._customers: dict[str, Customer | None] = {}
        self._tickets: dict[str, Ticket | None] = {}
        self._sessions: dict[str, SessionTrail] = {}
        self._messages: dict[str, str] = {}
        self._active_known: set[str] = set()
        # counter → the numbers this batch took from the pool
        self._numbers: dict[str, list[int]] = {}
        # What the batch wrote: created here, or changed.
        self._created_customers: dict[str, str] = {}
        self._grown: dict[str, CustomerGrowth] = {}
        self._claims: list[tuple[Identity, str]] = []
        self._created_tickets: dict[str, str] = {}
        self._saved: dict[str, None] = {}  # tickets stored before the batch that it changed, in order
        self._interactions: list[InteractionRecord] = []

    async def mark_bounced(self, bounce: Bounce) -> InteractionRecord | None:
        """Written through at once: the mail a bounce returns went out well before the bounce
        came back, so it was stored by an earlier batch, never this one."""
        return await self._tx.mark_bounced(bounce)

    async def prefetch(self, interactions: Sequence[Interaction], default_region: str) -> None:
        identities = [i for x in interactions for i in readable(x.presented, default_region)[0]]
        owners = await self._read_owners(identities)
        sessions = [x.session_id for x in interactions if x.session_id]
        messages = [m for x in interactions for m in threading.replied_to(x)]
        trails, threads = await self._tx.trails(sessions, messages)
        self._sessions.update({s: trails.get(s, SessionTrail()) for s in sessions})
        self._messages.update({m: threads.get(m, "") for m in messages})
        customer_ids = {*owners.values(), *(t.customer_id for t in trails.values() if t.customer_id),
                        *(x.customer_id for x in interactions if x.customer_id)}
        found = await self._tx.customers_by_id(sorted(customer_ids))
        self._customers.update({c: found.get(c) for c in customer_ids})
        named = {*(t.ticket_id for t in trails.values() if t.ticket_id), *(t for t in threads.values() if t),
                 *(x.ticket_id for x in interactions if x.ticket_id),
                 *(t for x in interactions if (t := threading.token_of(x)))}
        # Only contacts that thread by topic (phone, chat) weigh a customer's tickets (an email
        # names its ticket or is a new matter): reading those of the others would be wasted.
        by_topic = [x for x in interactions if threading.contact(x, utcnow()).joins_by_topic]
        topic_customers = {*(owners.get(i.key) for x in by_topic for i in readable(x.presented, default_region)[0]),
                           *(trails[x.session_id].customer_id for x in by_topic if x.session_id in trails),
                           *(x.customer_id for x in by_topic)}
        active_of = sorted(c for c, customer in found.items() if c in topic_customers and not customer.merged_into)
        tickets = await self._tx.tickets_named_or_active(sorted(named), active_of, self._done_since)
        self._tickets.update({t: None for t in named})
        self._tickets.update({t.id: t for t in tickets})
        self._active_known.update(active_of)

    async def commit(self) -> None:
        """Write what the batch did (Conflict if a ticket it saved changed meanwhile)."""
        def customer(customer_id: str) -> Customer:
            found = self._customers[customer_id]
            assert found is not None
            return found

        def ticket(ticket_id: str) -> Ticket:
            found = self._tickets[ticket_id]
            assert found is not None
            return found

        await self._tx.write_threaded(ThreadedWrites(
            customers=[(customer(c), origin) for c, origin in self._created_customers.items()],
            grown=self._grown, claims=self._claims,
            tickets=[(ticket(t), origin) for t, origin in self._created_tickets.items()],
            saved=[ticket(t) for t in self._saved],
            interactions=self._interactions,
        ))

    # --- the reads and writes threading makes (`usecases/ingestion.py`) ---------------------

    def abandon(self) -> None:
        """The batch will not commit: its numbers go back to the pool, issued to nobody."""
        for counter, taken in self._numbers.items():
            self._pool.give_back(counter, taken)
        self._numbers.clear()

    async def next_number(self, counter: str) -> int:
        number = await self._pool.take(counter)
        self._numbers.setdefault(counter, []).append(number)
        return number

    async def _read_owners(self, identities: Sequence[Identity]) -> dict[str, str]:
        """Owners of `identities` not asked yet: remembered, else read (and remembered)."""
        unknown = [i for i in identities if i.key not in self._owners]
        owners = self._known.of(i.key for i in unknown)
        if unread := [i for i in unknown if i.key not in owners]:
            found = await self._tx.owners(unread)
            self._known.learn(found)
            owners.update(found)
        self._owners.update({i.key: owners.get(i.key) for i in unknown})
        return owners

    async def owners(self, identities: Sequence[Identity]) -> dict[str, str]:
        """identity key → its owner now: a remembered owner merged away since is followed to
        the customer it was merged into (as the store re-pointed the identity)."""
        await self._read_owners(identities)
        return {i.key: (await self.get_customer(owner)).id for i in identities if (owner := self._owners[i.key])}

    def claimed(self) -> dict[str, str]:
        """identity key → customer, for the identities this batch gave to someone."""
        return {identity.key: owner for identity, owner in self._claims}

    async def find_customer(self, customer_id: str) -> Customer | None:
        if customer_id not in self._customers:
            self._customers[customer_id] = await self._tx.find_customer(customer_id)
        return self._customers[customer_id]

    async def get_customer(self, customer_id: str) -> Customer:
        """The customer, following merge redirects (as `TicketRepository.get_customer`)."""
        return await following_merges(customer_id, self.find_customer)

    async def insert_customer(self, customer: Customer, origin_key: str) -> Customer:
        self._customers[customer.id] = customer
        self._created_customers[customer.id] = origin_key
        self._active_known.add(customer.id)
        return customer

    def _grow(self, customer: Customer, *, versions: int) -> CustomerGrowth | None:
        """The growth record of a customer stored before the batch (None for one created in it,
        whose final state is inserted whole); bumps the version as each single write would."""
        customer.version += versions
        customer.updated_at = utcnow()
        if customer.id in self._created_customers:
            return None
        growth = self._grown.setdefault(customer.id, CustomerGrowth())
        growth.versions += versions
        return growth

    async def claim(self, customer_id: str, identity: Identity) -> str:
        """Give `identity` to the customer unless someone owns it; returns the owner."""
        owner = (await self.owners([identity])).get(identity.key)
        if owner is not None:
            return owner
        self._owners[identity.key] = customer_id
        self._claims.append((identity, customer_id))
        customer = await self.get_customer(customer_id)
        if identity not in customer.identities:
            customer.identities.append(identity)
        if growth := self._grow(customer, versions=1):
            growth.identities.append(identity)
        return customer_id

    async def report_conflict(self, customer_id: str, conflict: IdentityConflict) -> None:
        customer = await self.get_customer(customer_id)
        if any(c.identity == conflict.identity for c in customer.conflicts):
            return
        customer.conflicts.append(conflict)
        if growth := self._grow(customer, versions=0):
            growth.conflicts.append(conflict)

    async def set_customer_fields(self, customer_id: str, changes: Mapping[str, Any]) -> None:
        customer = await self.get_customer(customer_id)
        for field, value in changes.items():
            setattr(customer, field, value)
        if growth := self._grow(customer, versions=1):
            growth.fields.update(changes)

    async def session_customer(self, session_id: str) -> str:
        return (await self._trail(session_id)).customer_id

    async def session_ticket(self, session_id: str) -> str:
        return (await self._trail(session_id)).ticket_id

    async def _trail(self, session_id: str) -> SessionTrail:
        if session_id not in self._sessions:
            self._sessions[session_id] = SessionTrail(await self._tx.session_customer(session_id),
                                                      await self._tx.session_ticket(session_id))
        return self._sessions[session_id]

    async def ticket_of_messages(self, message_ids: Sequence[str]) -> str:
        """The ticket of the first of `message_ids` that one is recorded for (In-Reply-To first)."""
        for message_id in message_ids:
            if message_id not in self._messages:
                self._messages[message_id] = await self._tx.ticket_of_messages([message_id])
            if self._messages[message_id]:
                return self._messages[message_id]
        return ""

    async def _ticket(self, ticket_id: str) -> Ticket | None:
        if ticket_id not in self._tickets:
            self._tickets[ticket_id] = await self._tx.find_ticket(ticket_id)
        return self._tickets[ticket_id]

    async def get_ticket(self, ticket_id: str) -> Ticket:
        ticket = await self._ticket(ticket_id)
        if ticket is None:
            raise NotFound(f"ticket {ticket_id} does not exist")
        # A copy: threading changes it before saving it, as it would a ticket read from the store.
        return copy.deepcopy(ticket)

    async def resolve_ticket(self, ticket_id: str) -> Ticket | None:
        """The ticket, or the one it was merged into (followed to the end)."""
        seen: set[str] = set()
        ticket = await self._ticket(ticket_id)
        while ticket is not None and ticket.merged_into and ticket.merged_into not in seen:
            seen.add(ticket.id)
            ticket = await self._ticket(ticket.merged_into)
        return copy.deepcopy(ticket)

    async def topic_candidates(self, customer_id: str) -> list[threading.Candidate]:
        """The customer's tickets a contact on the same topic may join or reopen: the active ones
        and the ones done since `done_since`, merged ones left out. (Candidates, not copies of the
        tickets: threading only reads them, and copying every one for every contact was most of
        the batch's own time.)"""
        if customer_id not in self._active_known:
            for ticket in [*await self._tx.active_tickets(customer_id),
                           *await self._tx.done_tickets([customer_id], self._done_since)]:
                self._tickets.setdefault(ticket.id, ticket)
            self._active_known.add(customer_id)
        mine = [t for t in self._tickets.values()
                if t is not None and t.customer_id == customer_id and not t.merged_into]
        active = [t for t in mine if t.status in ACTIVE][:ACTIVE_CANDIDATES]
        since = self._done_since
        done = [t for t in mine
                if t.status not in ACTIVE and since is not None and (t.updated_at is None or t.updated_at >= since)]
        return [threading.candidate(t) for t in active + done[:ACTIVE_CANDIDATES]]

    async def insert_ticket(self, ticket: Ticket, origin_key: str) -> tuple[Ticket, bool]:
        """Kept as it is: the caller does not change it afterwards other than through `get_ticket`."""
        self._tickets[ticket.id] = ticket
        self._created_tickets[ticket.id] = origin_key
        return ticket, True

    async def save_ticket(self, ticket: Ticket, expected_version: int) -> Ticket:
        """Keep `ticket` (a copy from `get_ticket`/`resolve_ticket`, changed) if the stored one is
        still at `expected_version` (else Conflict), one version on."""
        stored = await self._ticket(ticket.id)
        if stored is None:
            raise NotFound(f"ticket {ticket.id} does not exist")
        if stored.version != expected_version:
            raise Conflict(f"ticket {ticket.id} was changed by someone else (version {stored.version}, "
                           f"you sent {expected_version}); reload it and apply your change again")
        if ticket.id not in self._created_tickets:
            self._saved[ticket.id] = None
        ticket.version = expected_version + 1
        ticket.updated_at = utcnow()
        self._tickets[ticket.id] = ticket
        return ticket

    async def insert_interaction(self, record: InteractionRecord) -> None:
        self._interactions.append(record)
        trail = self._sessions.setdefault(record.session_id, SessionTrail())
        trail.customer_id = trail.customer_id or record.customer_id
        trail.ticket_id = trail.ticket_id or record.ticket_id
        if record.message_id and record.ticket_id:
            self._messages[record.message_id] = self._messages.get(record.message_id) or record.ticket_id
