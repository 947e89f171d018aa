"""Follow-up tasks on the ticket's timeline (docs/outbound.md, "Follow-ups"): routing holds the
task; each of its facts — scheduled, done, cancelled — is a note on the ticket of the contact it
follows up, written once per fact (a redelivered event adds nothing)."""

from __future__ import annotations

import dataclasses
import datetime as dt

from omni.tickets.domain.model import Note, Ticket

# Routing's event type -> the fact it is for a follow-up.
FACTS = {"work_queued": "scheduled", "work_completed": "done", "work_abandoned": "cancelled"}
_WHAT = {"phone": "call", "email": "email", "sms": "SMS"}


@dataclasses.dataclass(frozen=True)
class FollowUpFact:
    work_id: str
    # "scheduled", "done" or "cancelled".
    fact: str
    channel: str
    due: dt.datetime
    deadline: dt.datetime
    agent_id: str
    group: str
    scheduled_by: str
    note: str = ""
    # Done: by whom, when, with what disposition and note; cancelled: why.
    by: str = ""
    at: dt.datetime | None = None
    disposition: str = ""
    reason: str = ""


def _when(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def text(fact: FollowUpFact) -> str:
    what = _WHAT.get(fact.channel, fact.channel)
    if fact.fact == "scheduled":
        whom = (f"for {fact.agent_id} (then group {fact.group})" if fact.agent_id else f"for group {fact.group}")
        return (f"follow-up scheduled by {fact.scheduled_by}: {what} due {_when(fact.due)} {whom}"
                + (f" — {fact.note}" if fact.note else ""))
    if fact.fact == "done":
        at = fact.at or fact.deadline
        late = (at - fact.deadline).total_seconds()
        timing = "on time" if late <= 0 else f"{late / 60:.0f} min late"
        return (f"follow-up done by {fact.by}: {what} at {_when(at)}, {timing}"
                + (f" — {fact.disposition}" if fact.disposition else "") + (f": {fact.note}" if fact.note else ""))
    # Routing's reason says who cancelled it and why.
    return f"{fact.reason or 'follow-up cancelled'} ({what} was due {_when(fact.due)})"


def noted(ticket: Ticket, fact: FollowUpFact, now: dt.datetime, max_chars: int) -> bool:
    """Put the fact on the ticket unless it is there; True if the ticket changed."""
    note_id = f"follow-up:{fact.work_id}:{fact.fact}"
    if any(n.id == note_id for n in ticket.notes):
        return False
    author = fact.by or fact.scheduled_by
    ticket.notes.append(Note(id=note_id, author_id=author, text=text(fact)[:max_chars], created_at=now))
    return True
