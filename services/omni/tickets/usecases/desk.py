"""What agents and supervisors do with tickets: read, list, create, update, note, assign, merge,
split — each held to the access rule of `domain/access.py` — and what routing's assignment of a
session does to its ticket."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import uuid
from collections.abc import Sequence

from omni.runtime import fencing
from omni.runtime.auth import Principal
from omni.runtime.channels import Channel
from omni.runtime.clock import utcnow
from omni.runtime.errors import NotFound
from omni.runtime.paging import Page, PageRequest
from omni.runtime.validation import require
from omni.tickets.domain import access, follow_ups, tickets
from omni.tickets.domain.follow_ups import FollowUpFact
from omni.tickets.domain.lifecycle import Status
from omni.tickets.domain.model import InteractionRecord, Ticket
from omni.tickets.domain.sla import ANSWERED_LIVE, SlaPolicy, responded
from omni.tickets.domain.tickets import TicketFilter
from omni.tickets.publishing import TicketEvents
from omni.tickets.repository import TicketRepository
from omni.tickets.settings import TicketSettings

log = logging.getLogger("omni.tickets.desk")

# Fields UpdateTicket may change.
UPDATABLE = frozenset({"subject", "status", "priority", "queue", "group", "tags", "csat", "disposition"})


class Desk:
    def __init__(self, repo: TicketRepository, events: TicketEvents, policy: SlaPolicy,
                 settings: TicketSettings) -> None:
        self._repo = repo
        self._events = events
        self._policy = policy
        self._limits = settings

    # --- reading ---------------------------------------------------------------------------

    async def ticket(self, principal: Principal, ticket_id: str) -> tuple[Ticket, list[InteractionRecord]]:
        ticket = await self._visible(principal, ticket_id)
        return ticket, await self._repo.newest(ticket.id, self._limits.ticket_timeline_limit,
                                               self._limits.ticket_timeline_max_bytes)

    async def list(self, principal: Principal, where: TicketFilter, order_by: str, page: PageRequest) -> Page[Ticket]:
        order = tickets.order_of(order_by)
        if where.customer_id:
            # A merged customer's old id lists the tickets of the customer it became.
            where = dataclasses.replace(where, customer_id=(await self._repo.get_customer(where.customer_id)).id)
        return await self._repo.list_tickets(where, access.visible(principal), order, page)

    async def _visible(self, principal: Principal, ticket_id: str, repo: TicketRepository | None = None) -> Ticket:
        ticket = await (repo or self._repo).get_ticket(require(ticket_id, "ticket id"))
        access.check_view(principal, ticket)
        return ticket

    # --- changing --------------------------------------------------------------------------

    async def create(self, principal: Principal, draft: Ticket, request_id: str) -> Ticket:
        customer = await self._repo.get_customer(require(draft.customer_id, "ticket.customer_id"))
        require(draft.subject, "ticket.subject")
        tickets.check_fields(draft, self._limits)
        origin = f"request:{request_id}" if request_id else f"request:{uuid.uuid4().hex}"
        if request_id and (earlier := await self._repo.ticket_by_origin(origin)) is not None:
            return earlier
        access.check_open(principal, draft)
        now = utcnow()
        number = await self._repo.next_number("ticket")
        ticket = tickets.opened(draft, f"T-{number}", customer.id, self._policy.due(draft.priority, now), now)
        ticket, created = await self._repo.insert_ticket(ticket, origin)
        if created:
            await self._events.ticket("ticket_created", f"{ticket.id}:created", ticket)
        return ticket

    async def update(self, principal: Principal, change: Ticket, paths: Sequence[str]) -> Ticket:
        ticket = await self._visible(principal, change.id)
        tickets.check_current(ticket, change.version)
        previous, groups_before, priority_before = ticket.status, ticket.groups, ticket.priority
        now = utcnow()
        tickets.apply(ticket, change, paths)
        access.check_move(principal, groups_before, ticket)
        tickets.check_update(ticket, previous, paths, self._limits, now)
        self._policy.reprioritised(ticket, priority_before)
        saved = await self._repo.save_ticket(ticket, change.version)
        await self._events.ticket("ticket_updated", f"{saved.id}:v{saved.version}", saved)
        if saved.status is not previous:
            await self._events.ticket("ticket_status_changed", f"{saved.id}:status:{saved.version}", saved,
                                      previous=previous)
        return saved

    async def add_note(self, principal: Principal, ticket_id: str, text: str, request_id: str) -> Ticket:
        ticket = await self._visible(principal, ticket_id)
        if not tickets.add_note(ticket, request_id or uuid.uuid4().hex, principal.subject, text, utcnow(),
                                self._limits):
            return ticket
        saved = await self._repo.save_ticket(ticket, ticket.version)
        await self._events.ticket("ticket_updated", f"{saved.id}:v{saved.version}", saved)
        return saved

    async def assign(self, principal: Principal, ticket_id: str, assignee_id: str, group: str) -> Ticket:
        ticket = await self._visible(principal, ticket_id)
        tickets.check_assignable(ticket, assignee_id, group)
        access.check_hand_to(principal, group)
        tickets.assign(ticket, assignee_id, group)
        saved = await self._repo.save_ticket(ticket, ticket.version)
        await self._events.ticket("ticket_assigned", f"{saved.id}:assigned:{saved.version}", saved)
        return saved

    async def session_assigned(self, session_id: str, agent_id: str, *, event_id: str, channel: Channel | None,
                               answered_at: dt.datetime, fence: tuple[str, int] = ("", 0)) -> None:
        """Routing connected an agent to a session: the session's ticket is theirs now, the
        customer's last agent (routing's affinity) is them, and on a call or a chat that answer
        is the ticket's first response. `fence`: the (partition, lease epoch) routing decided it
        under; an assignment of an epoch older than one applied to the ticket is a former owner's,
        published late, and changes nothing."""
        if not session_id or not agent_id:
            return
        ticket = await self._session_ticket(session_id)
        seen = dict(ticket.routing_epochs)
        if not fencing.admits(seen, *fence):
            log.info("ticket %s: dropped assignment %s from routing partition %s epoch %d, older than epoch %d",
                     ticket.id, event_id, fence[0], fence[1], seen[fence[0]])
            return
        # The customer first: whoever sees the ticket assigned (an agent's screen, a test) then also
        # sees the last agent; a redelivery after a failure in between repeats both harmlessly.
        await self._repo.set_customer_fields(ticket.customer_id, {"last_agent_id": agent_id})
        if ticket.status is Status.CLOSED:
            return
        reassigned = ticket.assignee_id != agent_id
        ticket.assignee_id = agent_id
        answered = channel in ANSWERED_LIVE and responded(ticket, answered_at)
        fenced = seen != ticket.routing_epochs
        ticket.routing_epochs = seen
        if reassigned or answered or fenced:
            saved = await self._repo.save_ticket(ticket, ticket.version)
            if reassigned:
                await self._events.ticket("ticket_assigned", f"{event_id}:assigned", saved)
            elif answered:
                await self._events.ticket("ticket_updated", f"{event_id}:answered", saved)

    async def work_wrapped_up(self, session_id: str, work_id: str, agent_id: str, disposition: str, note: str,
                              *, event_id: str) -> None:
        """Routing completed an agent's work with a disposition and note: both go on the session's
        ticket (its disposition, and a note in its timeline)."""
        if not session_id:
            return
        ticket = await self._session_ticket(session_id)
        if tickets.wrapped_up(ticket, work_id, agent_id, disposition, note, utcnow(), self._limits):
            saved = await self._repo.save_ticket(ticket, ticket.version)
            await self._events.ticket("ticket_updated", f"{event_id}:wrapped_up", saved)

    async def follow_up_fact(self, session_id: str, fact: FollowUpFact, *, event_id: str) -> None:
        """A follow-up of a contact of the session was scheduled, done or cancelled: a note on the
        session's ticket."""
        ticket = await self._session_ticket(session_id)
        if follow_ups.noted(ticket, fact, utcnow(), self._limits.max_note_chars):
            saved = await self._repo.save_ticket(ticket, ticket.version)
            await self._events.ticket("ticket_updated", f"{event_id}:follow_up", saved)

    async def _session_ticket(self, session_id: str) -> Ticket:
        """The ticket a session's interactions were threaded onto (followed through merges)."""
        ticket_id = await self._repo.session_ticket(session_id)
        if not ticket_id:
            # Routing can be faster than threading; the consumer retries with back-off.
            raise LookupError(f"session {session_id} has no threaded interaction yet")
        ticket = await self._repo.resolve_ticket(ticket_id)
        if ticket is None:
            raise NotFound(f"ticket {ticket_id} of session {session_id} does not exist")
        return ticket

    async def rated(self, ticket_id: str, csat: int, *, event_id: str) -> None:
        """The customer's CSAT answer about a contact of the ticket (sessions' `survey_answered`):
        the ticket's rating is the latest answer. A contact with no ticket changes nothing."""
        if not ticket_id:
            return
        ticket = await self._repo.resolve_ticket(ticket_id)
        if ticket is None:
            raise NotFound(f"ticket {ticket_id} of a survey answer does not exist")
        if ticket.csat != csat:
            ticket.csat = csat
            saved = await self._repo.save_ticket(ticket, ticket.version)
            await self._events.ticket("ticket_updated", f"{event_id}:rated", saved)

    async def merge(self, principal: Principal, source_id: str, target_id: str) -> Ticket:
        """One transaction: the source's interactions, notes and tags join the target (linked
        MERGED_FROM the source), the source is closed linked MERGED_INTO the target; an edit of
        either meanwhile (their version) aborts it all."""
        tickets.check_ids_to_merge(source_id, target_id)

        async def merge(repo: TicketRepository) -> tuple[Ticket, Ticket, Status]:
            source = await self._visible(principal, source_id, repo)
            target = await self._visible(principal, target_id, repo)
            tickets.check_merge(source, target)
            now = utcnow()
            moved = await repo.move_interactions(source.id, target.id)
            priority_before = target.priority
            tickets.absorb(target, source, moved, now)
            self._policy.reprioritised(target, priority_before)
            saved = await repo.save_ticket(target, target.version)
            previous = source.status
            tickets.close_merged(source, target.id, now)
            return saved, await repo.save_ticket(source, source.version), previous

        saved, merged, previous = await self._repo.atomically(merge)
        await self._events.ticket("ticket_merged", f"{merged.id}:merged_into:{saved.id}", saved,
                                  merged_ticket_id=merged.id)
        if previous is not Status.CLOSED:
            await self._events.ticket("ticket_status_changed", f"{merged.id}:status:{merged.version}", merged,
                                      previous=previous)
        return saved

    async def split(self, principal: Principal, ticket_id: str, interaction_ids: Sequence[str],
                    subject: str) -> tuple[Ticket, Ticket]:
        """One transaction: a new ticket (linked SPLIT_FROM the original, which is linked
        SPLIT_INTO it) takes the interactions named; an edit of the original meanwhile aborts it."""

        async def split(repo: TicketRepository) -> tuple[Ticket, Ticket]:
            original = await self._visible(principal, ticket_id, repo)
            on_ticket = {r.id for r in await repo.timeline(original.id)}
            tickets.check_split(original, on_ticket, interaction_ids)
            draft = tickets.split_draft(original, subject, self._limits)
            access.check_open(principal, draft)
            now = utcnow()
            created = tickets.opened(draft, f"T-{await repo.next_number('ticket')}", original.customer_id,
                                     self._policy.due(draft.priority, now), now)
            await repo.move_interactions(original.id, created.id, interaction_ids)
            tickets.split_off(original, created)
            created.interaction_count, created.first_at, created.last_at = await repo.span_of(created.id)
            created, _ = await repo.insert_ticket(created, f"split:{uuid.uuid4().hex}")
            original.interaction_count, original.first_at, original.last_at = await repo.span_of(original.id)
            return await repo.save_ticket(original, original.version), created

        original, created = await self._repo.atomically(split)
        await self._events.ticket("ticket_created", f"{created.id}:created", created)
        await self._events.ticket("ticket_updated", f"{original.id}:v{original.version}", original)
        return original, created
