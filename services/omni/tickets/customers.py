"""Customer records: create, update, look up by any identity, add identities, merge, and the
screen pop (GetCustomerContext) routing and agent desktops ask for before answering."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Sequence

from omni.runtime.auth import Principal
from omni.runtime.clock import utcnow
from omni.runtime.errors import AlreadyExists, InvalidArgument, NotFound, PermissionDenied
from omni.runtime.validation import check_length, require
from omni.tickets.identities import Identity, Kind, normalise
from omni.tickets.model import Customer, Ticket
from omni.tickets.publishing import TicketEvents
from omni.tickets.repository import StoredInteraction, TicketRepository, customer_changes, in_groups
from omni.tickets.settings import TicketSettings

UPDATABLE = frozenset({"display_name", "language", "tier", "tags", "preferred_agent_id"})
# What steers routing (priority, who is offered the customer first): an agent changes it, and the
# identities that decide whose conversations land on the record, only for their groups' customers.
STEERING = frozenset({"tier", "preferred_agent_id"})
CONTEXT_DEFAULT = 20
CONTEXT_MAX = 200


@dataclasses.dataclass
class CustomerContext:
    customer: Customer
    open_tickets: list[Ticket]
    recent: list[StoredInteraction]
    total_tickets: int


class Customers:
    def __init__(self, repo: TicketRepository, events: TicketEvents, settings: TicketSettings) -> None:
        self.repo = repo
        self._events = events
        self._settings = settings

    def identity(self, kind: Kind, value: str) -> Identity:
        return normalise(kind, value, self._settings.default_region)

    def _check(self, customer: Customer) -> None:
        limits = self._settings
        check_length(customer.display_name, "display_name", limits.max_name_chars)
        check_length(customer.language, "language", 35)
        check_length(customer.tier, "tier", limits.max_tag_chars)
        if len(customer.tags) > limits.max_tags:
            raise InvalidArgument(f"a customer has at most {limits.max_tags} tags; you sent {len(customer.tags)}")
        for tag in customer.tags:
            check_length(tag, "tag", limits.max_tag_chars)

    async def create(self, draft: Customer, request_id: str) -> Customer:
        self._check(draft)
        owners = await self.repo.owners(draft.identities)
        if owners:
            key, owner = next(iter(owners.items()))
            raise AlreadyExists(f"identity {key} already belongs to customer {owner}; add to or merge that customer")
        now = utcnow()
        origin = f"request:{request_id or uuid.uuid4().hex}"
        customer = dataclasses.replace(draft, id=f"C-{await self.repo.next_number('customer')}", identities=[],
                                       merged_into="", conflicts=[], version=1, created_at=now, updated_at=now)
        customer = await self.repo.insert_customer(customer, origin)
        for identity in draft.identities:
            owner = await self.repo.claim(customer.id, identity)
            if owner != customer.id:
                raise AlreadyExists(f"identity {identity.key} was just claimed by customer {owner}")
        return await self.repo.get_customer(customer.id)

    async def _check_theirs(self, principal: Principal, customer: Customer, what: str) -> None:
        """An agent's groups' customers: those with a ticket the agent sees."""
        if principal.is_staff_manager:
            return
        if not await self.repo.ticket_ids({"customer_id": customer.id, **in_groups(principal.groups)}):
            raise PermissionDenied(f"customer {customer.id} has no ticket in your groups "
                                   f"({', '.join(principal.groups) or 'none'}); ask a supervisor to change {what}")

    async def update(self, principal: Principal, change: Customer, paths: Sequence[str]) -> Customer:
        current = await self.repo.get_customer(require(change.id, "customer.id"))
        self._check(change)
        if steering := sorted(STEERING.intersection(paths)):
            await self._check_theirs(principal, current, " and ".join(steering))
        return await self.repo.update_customer(current.id, change.version, customer_changes(change, paths))

    async def lookup(self, identity: Identity) -> Customer:
        owners = await self.repo.owners([identity])
        if identity.key not in owners:
            raise NotFound(f"no customer has {identity.kind.value} {identity.value}")
        return await self.repo.get_customer(owners[identity.key])

    async def add_identity(self, principal: Principal, customer_id: str, identity: Identity) -> Customer:
        customer = await self.repo.get_customer(require(customer_id, "customer_id"))
        await self._check_theirs(principal, customer, "their identities")
        owner = await self.repo.claim(customer.id, identity)
        if owner != customer.id:
            raise AlreadyExists(f"{identity.kind.value} {identity.value} belongs to customer {owner}; if they are "
                                f"the same person, merge {owner} into {customer.id}")
        return await self.repo.get_customer(customer.id)

    async def merge(self, source_id: str, target_id: str) -> Customer:
        source = await self.repo.get_customer(require(source_id, "source_customer_id"))
        target = await self.repo.get_customer(require(target_id, "target_customer_id"))
        if source.id == target.id:
            raise InvalidArgument(f"customer {source_id} and {target_id} are already one customer ({target.id})")
        merged = dataclasses.replace(
            target,
            identities=target.identities + [i for i in source.identities if i not in target.identities],
            tags=sorted(set(target.tags) | set(source.tags)),
            tier=target.tier or source.tier,
            language=target.language or source.language,
            display_name=target.display_name or source.display_name,
            last_agent_id=target.last_agent_id or source.last_agent_id,
            preferred_agent_id=target.preferred_agent_id or source.preferred_agent_id,
            conflicts=[c for c in target.conflicts + source.conflicts
                       if c.owner_customer_id not in (source.id, target.id)],
            version=target.version + 1,
        )
        await self.repo.move_customer(source, merged)
        result = await self.repo.get_customer(target.id)
        await self._events.customer_merged(source.id, result)
        return result

    async def context(self, principal: Principal, customer_id: str, identity: Identity | None,
                      limit: int) -> CustomerContext:
        if limit < 0:
            raise InvalidArgument(f"interaction_limit must not be negative (got {limit})")
        if customer_id:
            customer = await self.repo.get_customer(customer_id)
        elif identity is not None:
            customer = await self.lookup(identity)
        else:
            raise InvalidArgument("give customer_id or identity")
        open_tickets = [t for t in await self.repo.active_tickets(customer.id) if principal.may_see_group(t.groups)]
        # An agent reads the conversations of their groups' tickets only.
        visible = None if principal.is_staff_manager else await self.repo.ticket_ids(
            {"customer_id": customer.id, **in_groups(principal.groups)})
        recent = await self.repo.recent_for_customer(customer.id, min(limit or CONTEXT_DEFAULT, CONTEXT_MAX), visible)
        return CustomerContext(customer, open_tickets, recent, await self.repo.count_tickets(customer.id))
