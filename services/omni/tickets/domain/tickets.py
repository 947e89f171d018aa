"""What people do to tickets, as rules on the records: the limits a ticket keeps, updates and
status stamps, notes, assignment, merging and splitting, and how lists are filtered and ordered."""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
from collections.abc import Collection, Sequence

from omni.runtime.errors import Conflict, FailedPrecondition, InvalidArgument
from omni.runtime.validation import check_length, require
from omni.tickets.domain.lifecycle import ACTIVE, DONE, Status, check_transition
from omni.tickets.domain.model import Limits, Link, LinkKind, Note, Sla, Ticket


@dataclasses.dataclass(frozen=True)
class TicketFilter:
    """ListTickets: tickets matching every condition given (empty: any)."""

    customer_id: str = ""
    statuses: tuple[Status, ...] = ()
    queue: str = ""
    assignee_id: str = ""
    tag: str = ""


@dataclasses.dataclass(frozen=True)
class WatchFilter:
    """WatchTickets: changes of the tickets matching every condition given (empty: any)."""

    queue: str = ""
    assignee_id: str = ""
    customer_id: str = ""

    def matches(self, ticket: Ticket) -> bool:
        return all(not want or want == have for want, have in ((self.queue, ticket.queue),
                                                               (self.assignee_id, ticket.assignee_id),
                                                               (self.customer_id, ticket.customer_id)))


class SortKey(enum.StrEnum):
    UPDATE_TIME = "update_time"
    CREATE_TIME = "create_time"
    PRIORITY = "priority"


@dataclasses.dataclass(frozen=True)
class Order:
    key: SortKey
    descending: bool


ORDERS = {f"{key} desc" if descending else str(key): Order(key, descending)
          for key in SortKey for descending in (True, False)}


def order_of(order_by: str) -> Order:
    """ListTickets' `order_by` ("update_time desc" when empty)."""
    name = " ".join(order_by.lower().split()) or "update_time desc"
    if name not in ORDERS:
        raise InvalidArgument(f"order_by {order_by!r} is not supported; use one of: {', '.join(ORDERS)}")
    return ORDERS[name]


def check_fields(ticket: Ticket, limits: Limits) -> None:
    check_length(ticket.subject, "subject", limits.max_subject_chars)
    if len(ticket.tags) > limits.max_tags:
        raise InvalidArgument(f"a ticket has at most {limits.max_tags} tags; you sent {len(ticket.tags)}")
    for tag in ticket.tags:
        check_length(tag, "tag", limits.max_tag_chars)
    if not 0 <= ticket.csat <= 5:
        raise InvalidArgument(f"csat is a rating from 1 to 5 (0: not rated); got {ticket.csat}")


def check_current(ticket: Ticket, version: int) -> None:
    """An update names the version it was made on; any other (0 included) lost a race."""
    if version != ticket.version:
        raise Conflict(f"ticket {ticket.id} was changed by someone else (version {ticket.version}, you sent "
                       f"{version}); reload it and apply your change again")


def apply(ticket: Ticket, change: Ticket, paths: Collection[str]) -> None:
    """Copy the fields named by `paths` from `change`; `check_update` then judges the result."""
    for path in paths:
        setattr(ticket, path, getattr(change, path))


def check_update(ticket: Ticket, previous: Status, paths: Collection[str], limits: Limits, now: dt.datetime) -> None:
    """A ticket after `apply`: valid, in a status it may move to from `previous` (stamped)."""
    if "subject" in paths:
        require(ticket.subject, "ticket.subject")
    check_fields(ticket, limits)
    if "status" in paths:
        check_transition(ticket.id, previous, ticket.status)
        _stamp_status(ticket, previous, now)
    if ticket.merged_into and "status" in paths and ticket.status is not previous:
        raise FailedPrecondition(f"ticket {ticket.id} was merged into {ticket.merged_into}; work on that one")


def _stamp_status(ticket: Ticket, previous: Status, now: dt.datetime) -> None:
    if ticket.status is Status.SOLVED and previous is not Status.SOLVED:
        ticket.solved_at = now
    if ticket.status is Status.CLOSED:
        ticket.closed_at = now
    if previous in DONE and ticket.status in ACTIVE:
        ticket.reopen_count += 1
        ticket.solved_at = None


def add_note(ticket: Ticket, note_id: str, author_id: str, text: str, now: dt.datetime, limits: Limits) -> bool:
    """Add a note unless one of `note_id` is there already (a retried request); True if added."""
    check_length(require(text, "text"), "text", limits.max_note_chars)
    if any(n.id == note_id for n in ticket.notes):
        return False
    ticket.notes.append(Note(id=note_id, author_id=author_id, text=text.strip(), created_at=now))
    return True


def wrapped_up(ticket: Ticket, work_id: str, agent_id: str, disposition: str, note: str, now: dt.datetime,
               limits: Limits) -> bool:
    """An agent wrapped up the work of `work_id` on this ticket: the disposition is the ticket's,
    and the disposition with the agent's note is a note on it (once per work: a redelivered wrap-up
    adds nothing). Routing already took them; what is too long here is cut, not refused.
    True if the ticket changed."""
    disposition, note = disposition.strip()[:limits.max_tag_chars], note.strip()
    if not disposition and not note:
        return False
    note_id = f"wrap-up:{work_id}"
    if any(n.id == note_id for n in ticket.notes):
        return False
    ticket.disposition = disposition or ticket.disposition
    text = f"wrap-up: {disposition or 'no disposition'}" + (f" — {note}" if note else "")
    ticket.notes.append(Note(id=note_id, author_id=agent_id, text=text[:limits.max_note_chars], created_at=now))
    return True


def check_assignable(ticket: Ticket, assignee_id: str, group: str) -> None:
    if ticket.status is Status.CLOSED:
        raise FailedPrecondition(f"ticket {ticket.id} is closed; it cannot be assigned")
    if not assignee_id and not group:
        raise InvalidArgument("give assignee_id, group or both")


def assign(ticket: Ticket, assignee_id: str, group: str) -> None:
    """Give the ticket to an agent, a group or both (empty: keep)."""
    ticket.assignee_id = assignee_id or ticket.assignee_id
    ticket.group = group or ticket.group


def check_ids_to_merge(source_id: str, target_id: str) -> None:
    if require(source_id, "source_ticket_id") == require(target_id, "target_ticket_id"):
        raise InvalidArgument(f"cannot merge ticket {source_id} into itself")


def check_merge(source: Ticket, target: Ticket) -> None:
    for ticket in (source, target):
        if ticket.merged_into:
            raise FailedPrecondition(f"ticket {ticket.id} was already merged into {ticket.merged_into}")
    if source.customer_id != target.customer_id:
        raise FailedPrecondition(f"tickets {source.id} and {target.id} belong to different customers "
                                 f"({source.customer_id}, {target.customer_id}); merge the customers first")
    if target.status is Status.CLOSED:
        raise FailedPrecondition(f"ticket {target.id} is closed; merge into an open ticket")


def absorb(target: Ticket, source: Ticket, moved: int, now: dt.datetime) -> None:
    """`target` after `moved` interactions of `source` were moved onto it: notes, tags, span and
    the higher priority join it, and a link back to the source."""
    target.interaction_count += moved
    target.links.append(Link(LinkKind.MERGED_FROM, source.id))
    target.notes.extend(source.notes)
    target.tags = sorted(set(target.tags) | set(source.tags))
    target.first_at = min(t for t in (target.first_at, source.first_at, now) if t is not None)
    target.last_at = max(t for t in (target.last_at, source.last_at, target.first_at) if t is not None)
    target.priority = max(target.priority, source.priority)


def close_merged(source: Ticket, target_id: str, now: dt.datetime) -> None:
    """`source` once merged into `target_id`: closed, empty, pointing at the target."""
    source.merged_into = target_id
    source.status, source.closed_at, source.interaction_count = Status.CLOSED, now, 0
    source.links.append(Link(LinkKind.MERGED_INTO, target_id))


def check_split(original: Ticket, on_ticket: set[str], interaction_ids: Sequence[str]) -> None:
    """Splitting `interaction_ids` off `original`, whose interactions are `on_ticket`."""
    if not interaction_ids:
        raise InvalidArgument("interaction_ids is required: name the interactions to move to the new ticket")
    unknown = sorted(set(interaction_ids) - on_ticket)
    if unknown:
        raise InvalidArgument(f"interaction(s) {', '.join(unknown)} are not on ticket {original.id}")
    if len(on_ticket) == len(set(interaction_ids)):
        raise FailedPrecondition(f"splitting every interaction off {original.id} would leave it empty; "
                                 "change the ticket instead")


def split_draft(original: Ticket, subject: str, limits: Limits) -> Ticket:
    """The draft of the ticket split off `original`: its customer, queue and priority, a fresh start otherwise."""
    check_length(subject, "subject", limits.max_subject_chars)
    return dataclasses.replace(original, subject=subject.strip() or f"Split from {original.id}", tags=[],
                               assignee_id="", csat=0, disposition="", reopen_count=0)


def split_off(original: Ticket, created: Ticket) -> None:
    """`created` was split off `original`: each links to the other."""
    created.links.append(Link(LinkKind.SPLIT_FROM, original.id))
    original.links.append(Link(LinkKind.SPLIT_INTO, created.id))


def opened(draft: Ticket, ticket_id: str, customer_id: str, due: tuple[dt.datetime, dt.datetime],
           now: dt.datetime) -> Ticket:
    """A ticket a person opens from `draft`: new, in its queue's group unless one is named,
    on the SLA clock from now (`due`: first response and resolution)."""
    first_due, resolution_due = due
    return dataclasses.replace(
        draft, id=ticket_id, customer_id=customer_id, status=Status.NEW, group=draft.group or draft.queue,
        topic=draft.queue, sla=Sla(first_response_due=first_due, resolution_due=resolution_due),
        notes=[], links=[], version=1, created_at=now, updated_at=now, first_at=now, last_at=now,
    )
