"""What agents and supervisors do with tickets: read, list, create, update, note, assign, merge,
split — with the rule that an agent sees only the tickets of their groups."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from collections.abc import Sequence

from omni.runtime.auth import Principal
from omni.runtime.clock import utcnow
from omni.runtime.errors import Conflict, FailedPrecondition, InvalidArgument, NotFound, PermissionDenied
from omni.runtime.paging import Page, PageRequest
from omni.runtime.storage import Document
from omni.runtime.validation import check_length, require
from omni.tickets.lifecycle import ACTIVE, DONE, Status, check_transition
from omni.tickets.model import Link, LinkKind, Note, Sla, Ticket
from omni.tickets.publishing import TicketEvents, ticket_event
from omni.tickets.repository import ORDERS, StoredInteraction, TicketRepository, in_groups
from omni.tickets.settings import TicketSettings
from omni.tickets.sla import SlaPolicy

UPDATABLE = frozenset({"subject", "status", "priority", "queue", "group", "tags", "csat", "disposition"})


@dataclasses.dataclass(frozen=True)
class TicketFilter:
    customer_id: str = ""
    statuses: tuple[Status, ...] = ()
    queue: str = ""
    assignee_id: str = ""
    tag: str = ""


class Desk:
    def __init__(self, repo: TicketRepository, events: TicketEvents, policy: SlaPolicy,
                 settings: TicketSettings) -> None:
        self.repo = repo
        self._events = events
        self._policy = policy
        self._limits = settings

    # --- reading ---------------------------------------------------------------------------

    async def ticket(self, principal: Principal, ticket_id: str) -> tuple[Ticket, list[StoredInteraction]]:
        ticket = await self._visible(principal, ticket_id)
        return ticket, await self.repo.newest(ticket.id, self._limits.ticket_timeline_limit,
                                              self._limits.ticket_timeline_max_bytes)

    async def list(self, principal: Principal, where: TicketFilter, order_by: str, page: PageRequest) -> Page[Ticket]:
        order = " ".join(order_by.lower().split()) or "update_time desc"
        if order not in ORDERS:
            raise InvalidArgument(f"order_by {order_by!r} is not supported; use one of: {', '.join(ORDERS)}")
        query: Document = {}
        if where.customer_id:
            query["customer_id"] = (await self.repo.get_customer(where.customer_id)).id
        if where.statuses:
            query["status"] = {"$in": [s.value for s in where.statuses]}
        for field, value in (("queue", where.queue), ("assignee_id", where.assignee_id), ("tags", where.tag)):
            if value:
                query[field] = value
        if not principal.is_staff_manager:
            query.update(in_groups(principal.groups))
        return await self.repo.list_tickets(query, order, page)

    async def _visible(self, principal: Principal, ticket_id: str) -> Ticket:
        ticket = await self.repo.get_ticket(require(ticket_id, "ticket id"))
        if not principal.may_see_group(ticket.groups):
            raise PermissionDenied(f"ticket {ticket.id} belongs to {', '.join(ticket.groups)}; you may see tickets "
                                   f"of {', '.join(principal.groups) or 'no group'}")
        return ticket

    # --- changing --------------------------------------------------------------------------

    def _check_fields(self, ticket: Ticket) -> None:
        check_length(ticket.subject, "subject", self._limits.max_subject_chars)
        if len(ticket.tags) > self._limits.max_tags:
            raise InvalidArgument(f"a ticket has at most {self._limits.max_tags} tags; you sent {len(ticket.tags)}")
        for tag in ticket.tags:
            check_length(tag, "tag", self._limits.max_tag_chars)
        if not 0 <= ticket.csat <= 5:
            raise InvalidArgument(f"csat is a rating from 1 to 5 (0: not rated); got {ticket.csat}")

    async def create(self, principal: Principal, draft: Ticket, request_id: str) -> Ticket:
        customer = await self.repo.get_customer(require(draft.customer_id, "ticket.customer_id"))
        require(draft.subject, "ticket.subject")
        self._check_fields(draft)
        origin = f"request:{request_id}" if request_id else f"request:{uuid.uuid4().hex}"
        if request_id and (earlier := await self.repo.ticket_by_origin(origin)) is not None:
            return earlier
        if not principal.may_see_group([g for g in (draft.queue, draft.group) if g]):
            raise PermissionDenied(f"you may open tickets only for your groups: {', '.join(principal.groups)}")
        now = utcnow()
        first_due, resolution_due = self._policy.due(draft.priority, now)
        ticket = dataclasses.replace(
            draft, id=f"T-{await self.repo.next_number('ticket')}", customer_id=customer.id,
            status=Status.NEW, group=draft.group or draft.queue, topic=draft.queue,
            sla=Sla(first_response_due=first_due, resolution_due=resolution_due),
            notes=[], links=[], version=1, created_at=now, updated_at=now, first_at=now, last_at=now,
        )
        ticket, created = await self.repo.insert_ticket(ticket, origin)
        if created:
            await self._events.ticket("ticket_created", f"{ticket.id}:created", ticket_event(ticket))
        return ticket

    async def update(self, principal: Principal, change: Ticket, paths: Sequence[str]) -> Ticket:
        ticket = await self._visible(principal, change.id)
        if change.version != ticket.version:
            raise_stale(ticket.id, ticket.version, change.version)
        previous, groups_before = ticket.status, ticket.groups
        now = utcnow()
        for path in paths:
            setattr(ticket, path, getattr(change, path))
        check_move(principal, groups_before, ticket)
        if "subject" in paths:
            require(ticket.subject, "ticket.subject")
        self._check_fields(ticket)
        if "status" in paths:
            check_transition(ticket.id, previous, ticket.status)
            _stamp_status(ticket, previous, now)
        if ticket.merged_into and "status" in paths and ticket.status is not previous:
            raise FailedPrecondition(f"ticket {ticket.id} was merged into {ticket.merged_into}; work on that one")
        saved = await self.repo.save_ticket(ticket, change.version)
        await self._events.ticket("ticket_updated", f"{saved.id}:v{saved.version}", ticket_event(saved))
        if saved.status is not previous:
            await self._events.ticket("ticket_status_changed", f"{saved.id}:status:{saved.version}",
                                      ticket_event(saved, previous=previous))
        return saved

    async def add_note(self, principal: Principal, ticket_id: str, text: str, request_id: str) -> Ticket:
        ticket = await self._visible(principal, ticket_id)
        check_length(require(text, "text"), "text", self._limits.max_note_chars)
        note_id = request_id or uuid.uuid4().hex
        if any(n.id == note_id for n in ticket.notes):
            return ticket
        ticket.notes.append(Note(id=note_id, author_id=principal.subject, text=text.strip(), created_at=utcnow()))
        saved = await self.repo.save_ticket(ticket, ticket.version)
        await self._events.ticket("ticket_updated", f"{saved.id}:v{saved.version}", ticket_event(saved))
        return saved

    async def assign(self, principal: Principal, ticket_id: str, assignee_id: str, group: str) -> Ticket:
        ticket = await self._visible(principal, ticket_id)
        if ticket.status is Status.CLOSED:
            raise FailedPrecondition(f"ticket {ticket.id} is closed; it cannot be assigned")
        if not assignee_id and not group:
            raise InvalidArgument("give assignee_id, group or both")
        if group and not principal.may_see_group([group]):
            raise PermissionDenied(f"you may not move tickets to group {group}")
        ticket.assignee_id = assignee_id or ticket.assignee_id
        ticket.group = group or ticket.group
        saved = await self.repo.save_ticket(ticket, ticket.version)
        await self._events.ticket("ticket_assigned", f"{saved.id}:assigned:{saved.version}", ticket_event(saved))
        return saved

    async def session_assigned(self, session_id: str, agent_id: str, *, event_id: str) -> None:
        """Routing connected an agent to a session: the session's ticket is theirs now, and the
        customer's last agent (routing's affinity) is them."""
        if not session_id or not agent_id:
            return
        ticket_id = await self.repo.session_ticket(session_id)
        if not ticket_id:
            # Routing can be faster than threading; the consumer retries with back-off.
            raise LookupError(f"session {session_id} has no threaded interaction yet")
        ticket = await self.repo.resolve_ticket(ticket_id)
        if ticket is None:
            raise NotFound(f"ticket {ticket_id} of session {session_id} does not exist")
        # The customer first: whoever sees the ticket assigned (an agent's screen, a test) then also
        # sees the last agent; a redelivery after a failure in between repeats both harmlessly.
        await self.repo.set_customer_fields(ticket.customer_id, {"last_agent_id": agent_id})
        if ticket.assignee_id != agent_id and ticket.status is not Status.CLOSED:
            ticket.assignee_id = agent_id
            saved = await self.repo.save_ticket(ticket, ticket.version)
            await self._events.ticket("ticket_assigned", f"{event_id}:assigned", ticket_event(saved))

    async def merge(self, principal: Principal, source_id: str, target_id: str) -> Ticket:
        if require(source_id, "source_ticket_id") == require(target_id, "target_ticket_id"):
            raise InvalidArgument(f"cannot merge ticket {source_id} into itself")
        source = await self._visible(principal, source_id)
        target = await self._visible(principal, target_id)
        for ticket in (source, target):
            if ticket.merged_into:
                raise FailedPrecondition(f"ticket {ticket.id} was already merged into {ticket.merged_into}")
        if source.customer_id != target.customer_id:
            raise FailedPrecondition(f"tickets {source.id} and {target.id} belong to different customers "
                                     f"({source.customer_id}, {target.customer_id}); merge the customers first")
        if target.status is Status.CLOSED:
            raise FailedPrecondition(f"ticket {target.id} is closed; merge into an open ticket")
        now = utcnow()
        moved = await self.repo.move_interactions(source.id, target.id)
        target.interaction_count += moved
        target.notes.extend(source.notes)
        target.tags = sorted(set(target.tags) | set(source.tags))
        target.first_at = min(t for t in (target.first_at, source.first_at, now) if t is not None)
        target.last_at = max(t for t in (target.last_at, source.last_at, target.first_at) if t is not None)
        target.priority = max(target.priority, source.priority)
        saved = await self.repo.save_ticket(target, target.version)
        previous = source.status
        source.merged_into = target.id
        source.status, source.closed_at, source.interaction_count = Status.CLOSED, now, 0
        source.links.append(Link(LinkKind.MERGED_INTO, target.id))
        merged = await self.repo.save_ticket(source, source.version)
        await self._events.ticket("ticket_merged", f"{source.id}:merged_into:{target.id}",
                                  ticket_event(saved, merged_ticket_id=source.id))
        if previous is not Status.CLOSED:
            await self._events.ticket("ticket_status_changed", f"{merged.id}:status:{merged.version}",
                                      ticket_event(merged, previous=previous))
        return saved

    async def split(self, principal: Principal, ticket_id: str, interaction_ids: Sequence[str],
                    subject: str) -> tuple[Ticket, Ticket]:
        original = await self._visible(principal, ticket_id)
        if not interaction_ids:
            raise InvalidArgument("interaction_ids is required: name the interactions to move to the new ticket")
        timeline = await self.repo.timeline(original.id)
        on_ticket = {r.id for r in timeline}
        unknown = sorted(set(interaction_ids) - on_ticket)
        if unknown:
            raise InvalidArgument(f"interaction(s) {', '.join(unknown)} are not on ticket {original.id}")
        if len(on_ticket) == len(set(interaction_ids)):
            raise FailedPrecondition(f"splitting every interaction off {original.id} would leave it empty; "
                                     "change the ticket instead")
        check_length(subject, "subject", self._limits.max_subject_chars)
        draft = dataclasses.replace(original, subject=subject.strip() or f"Split from {original.id}", tags=[],
                                    assignee_id="", csat=0, disposition="", reopen_count=0)
        created = await self.create(principal, draft, request_id="")
        moved = await self.repo.move_interactions(original.id, created.id, interaction_ids)
        created.links.append(Link(LinkKind.SPLIT_FROM, original.id))
        created.interaction_count, created.first_at, created.last_at = await self.repo.span_of(created.id)
        created = await self.repo.save_ticket(created, created.version)
        original.interaction_count, original.first_at, original.last_at = await self.repo.span_of(original.id)
        original = await self.repo.save_ticket(original, original.version)
        assert moved == len(set(interaction_ids))
        await self._events.ticket("ticket_updated", f"{original.id}:v{original.version}", ticket_event(original))
        return original, created


def check_move(principal: Principal, groups_before: Sequence[str], ticket: Ticket) -> None:
    """An agent moves a ticket (queue, group) only into their own groups, and never out of every group."""
    if principal.is_staff_manager:
        return
    outside = [g for g in ticket.groups if g not in groups_before and g not in principal.groups]
    if outside:
        raise PermissionDenied(f"you may move ticket {ticket.id} only into your groups "
                               f"({', '.join(principal.groups) or 'none'}), not {', '.join(outside)}; "
                               "ask a supervisor to move it elsewhere")
    if groups_before and not ticket.groups:
        raise PermissionDenied(f"without queue and group ticket {ticket.id} would be seen by every group; "
                               "keep it in one of yours")


def raise_stale(ticket_id: str, stored: int, sent: int) -> None:
    raise Conflict(f"ticket {ticket_id} was changed by someone else (version {stored}, you sent {sent}); "
                         "reload it and apply your change again")


def _stamp_status(ticket: Ticket, previous: Status, now: dt.datetime) -> None:
    if ticket.status is Status.SOLVED and previous is not Status.SOLVED:
        ticket.solved_at = now
    if ticket.status is Status.CLOSED:
        ticket.closed_at = now
    if previous in DONE and ticket.status in ACTIVE:
        ticket.reopen_count += 1
        ticket.solved_at = None
