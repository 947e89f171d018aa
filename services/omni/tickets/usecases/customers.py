"""Customer records: read, list, create, update, look up by any identity, add identities, merge,
and the screen pop (GetCustomerContext) routing and agent desktops ask for before answering."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from collections.abc import Sequence

from omni.runtime.auth import Principal
from omni.runtime.clock import utcnow
from omni.runtime.errors import AlreadyExists, InvalidArgument, NotFound
from omni.runtime.paging import Page, PageRequest, Position
from omni.runtime.validation import require
from omni.tickets.domain import access, customers
from omni.tickets.domain.identities import Identity, Presented, normalise
from omni.tickets.domain.lifecycle import ACTIVE
from omni.tickets.domain.model import Customer, InteractionRecord, Ticket
from omni.tickets.publishing import TicketEvents
from omni.tickets.repository import TicketRepository
from omni.tickets.settings import TicketSettings
from omni.tickets.usecases.identity_owners import KnownOwners

# Fields UpdateCustomer may change.
UPDATABLE = frozenset({"display_name", "language", "tier", "tags", "preferred_agent_id"})
CONTEXT_DEFAULT = 20
CONTEXT_MAX = 200
# The screen pop lists at most this many open tickets.
OPEN_TICKETS_SHOWN = 50


@dataclasses.dataclass
class CustomerContext:
    customer: Customer
    open_tickets: list[Ticket]
    recent: list[InteractionRecord]
    total_tickets: int
    # Where the history continues; None when `recent` reached the customer's first interaction.
    next_after: Position | None = None


class Customers:
    def __init__(self, repo: TicketRepository, events: TicketEvents, settings: TicketSettings,
                 known: KnownOwners) -> None:
        self._repo = repo
        self._events = events
        self._settings = settings
        # Shared with the ingestion: the owners of the identities it threaded are remembered, so
        # the screen pop of a customer who just got in touch starts with the customer's reads.
        self._known = known

    def _identity(self, presented: Presented) -> Identity:
        kind, value = presented
        return normalise(kind, value, self._settings.default_region)

    async def get(self, customer_id: str) -> Customer:
        return await self._repo.get_customer(require(customer_id, "id"))

    async def list(self, tag: str, tier: str, page: PageRequest) -> Page[Customer]:
        return await self._repo.list_customers(tag=tag, tier=tier, page=page)

    async def create(self, draft: Customer, presented: Sequence[Presented], request_id: str) -> Customer:
        identities = [self._identity(p) for p in presented]
        customers.check_fields(draft, self._settings)
        owners = await self._repo.owners(identities)
        if owners:
            key, owner = next(iter(owners.items()))
            raise AlreadyExists(f"identity {key} already belongs to customer {owner}; add to or merge that customer")
        now = utcnow()
        origin = f"request:{request_id or uuid.uuid4().hex}"
        customer = dataclasses.replace(draft, id=f"C-{await self._repo.next_number('customer')}", identities=[],
                                       merged_into="", conflicts=[], version=1, created_at=now, updated_at=now)
        customer = await self._repo.insert_customer(customer, origin)
        for identity in identities:
            owner = await self._repo.claim(customer.id, identity)
            if owner != customer.id:
                raise AlreadyExists(f"identity {identity.key} was just claimed by customer {owner}")
        return await self._repo.get_customer(customer.id)

    async def update(self, principal: Principal, change: Customer, paths: Sequence[str]) -> Customer:
        current = await self._repo.get_customer(require(change.id, "customer.id"))
        customers.check_fields(change, self._settings)
        if access.steers(paths):
            await self._check_theirs(principal, current, "their tier or preferred agent")
        return await self._repo.update_customer(current.id, change, paths)

    async def _check_theirs(self, principal: Principal, customer: Customer, what: str) -> None:
        if access.visible(principal) is None:
            return
        places = await self._repo.ticket_places(customer.id)
        seen = [t for t, groups in places.items() if access.may_view(principal, groups)]
        access.check_their_customer(principal, customer, seen, what)

    async def lookup(self, presented: Presented) -> Customer:
        return await self._owner(self._identity(presented))

    async def _owner(self, identity: Identity) -> Customer:
        return await self._repo.get_customer(await self._owner_id(identity))

    async def _owner_id(self, identity: Identity) -> str:
        """The identity's owner, remembered or read; one merged away since is followed by the
        customer read that uses it (`get_customer` returns the customer it became)."""
        owners = self._known.of([identity.key])
        if not owners:
            owners = await self._repo.owners([identity])
            self._known.learn(owners)
        if identity.key not in owners:
            raise NotFound(f"no customer has {identity.kind.value} {identity.value}")
        return owners[identity.key]

    async def add_identity(self, principal: Principal, customer_id: str, presented: Presented) -> Customer:
        identity = self._identity(presented)
        customer = await self._repo.get_customer(require(customer_id, "customer_id"))
        await self._check_theirs(principal, customer, "their identities")
        owner = await self._repo.claim(customer.id, identity)
        if owner != customer.id:
            raise AlreadyExists(f"{identity.kind.value} {identity.value} belongs to customer {owner}; if they are "
                                f"the same person, merge {owner} into {customer.id}")
        return await self._repo.get_customer(customer.id)

    async def merge(self, source_id: str, target_id: str) -> Customer:
        """One transaction: the source's identities, tickets and interactions move to the target,
        which names the source as merged from, and the source redirects to it; a person's edit
        of either meanwhile (their version) aborts it all."""
        require(source_id, "source_customer_id")
        require(target_id, "target_customer_id")

        async def merge(repo: TicketRepository) -> tuple[str, Customer]:
            source = await repo.get_customer(source_id)
            target = await repo.get_customer(target_id)
            if source.id == target.id:
                raise InvalidArgument(f"customer {source_id} and {target_id} are already one customer ({target.id})")
            await repo.move_customer(source, customers.merged(source, target), target.version)
            return source.id, await repo.get_customer(target.id)

        merged_id, result = await self._repo.atomically(merge)
        await self._events.customer_merged(merged_id, result)
        return result

    async def context(self, principal: Principal, customer_id: str, presented: Presented | None,
                      limit: int, after: Position | None = None) -> CustomerContext:
        """The screen pop: one read for the identity's owner, then the customer, all their tickets
        and a screen of history at once (all keyed by the customer id); `after` continues the
        history from an earlier screen."""
        identity = self._identity(presented) if presented is not None else None
        if limit < 0:
            raise InvalidArgument(f"interaction_limit must not be negative (got {limit})")
        if customer_id:
            owner = customer_id
        elif identity is not None:
            owner = await self._owner_id(identity)
        else:
            raise InvalidArgument("give customer_id or identity")
        page = PageRequest(min(limit or CONTEXT_DEFAULT, CONTEXT_MAX), after)
        customer, tickets, history = await asyncio.gather(
            self._repo.get_customer(owner), self._repo.customer_tickets(owner),
            self._repo.customer_history(owner, page))
        if customer.id != owner:  # an id merged away: the reads follow the customer it became
            tickets, history = await asyncio.gather(self._repo.customer_tickets(customer.id),
                                                    self._repo.customer_history(customer.id, page))
        seen = [t for t in tickets if access.may_view(principal, t.groups)]
        open_tickets = [t for t in seen if t.status in ACTIVE][:OPEN_TICKETS_SHOWN]
        # An agent reads the conversations of the tickets they see only: read again with that
        # filter when the screen holds another ticket's interaction (the first read assumed not).
        if access.visible(principal) is not None:
            visible = [t.id for t in seen]
            if not {r.ticket_id for r in history.items} <= set(visible):
                history = await self._repo.customer_history(customer.id, page, visible)
        return CustomerContext(customer, open_tickets, history.items, len(tickets), history.next_after)
