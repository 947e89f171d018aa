"""Which ticket an inbound interaction belongs to (DESIGN.md, "Identity and threading rules").

Order: the session's own ticket (every message of one chat or call lands together); for email
the `In-Reply-To`/`References` Message-IDs, then a `[#T-1042]` token in the subject; then the
customer's active ticket on the same topic within the window; else a new ticket. A reply to a
solved or closed ticket reopens it inside the follow-up window, else opens a new ticket linked
as its follow-up. Auto-replies and bounces are recorded but never open or reopen a ticket.

The repository finds the candidates (already following merged-into links); this module only
decides, so the rules are testable without a database.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re

from omni.tickets.lifecycle import DONE, Status

TOKEN = re.compile(r"\[#(T-\d{1,12})\]")


def subject_token(subject: str) -> str:
    """The ticket id named in a subject such as `Re: refund [#T-1042]`, or ''."""
    found = TOKEN.search(subject)
    return found.group(1) if found else ""


@dataclasses.dataclass(frozen=True)
class Candidate:
    """What threading needs to know about an existing ticket."""

    id: str
    status: Status
    topic: str
    first_at: dt.datetime
    last_at: dt.datetime
    # When it was solved or closed (None while active).
    done_at: dt.datetime | None = None


@dataclasses.dataclass(frozen=True)
class Contact:
    occurred_at: dt.datetime
    topic: str
    # Auto-reply or delivery-status report.
    automatic: bool = False


@dataclasses.dataclass(frozen=True)
class Windows:
    # An interaction joins an active ticket on the same topic if within this of its activity.
    same_topic: dt.timedelta
    # A reply this soon after a ticket was solved/closed reopens it.
    follow_up: dt.timedelta


@dataclasses.dataclass(frozen=True)
class Decision:
    """Attach to `ticket_id` (reopening it if `reopen`), or create a ticket when `ticket_id` is ''.

    `create` false with no ticket: an automatic message nothing claims, kept on the customer only.
    """

    ticket_id: str = ""
    reopen: bool = False
    create: bool = False
    follow_up_of: str = ""
    rule: str = ""


def decide(
    contact: Contact,
    windows: Windows,
    *,
    session_ticket: Candidate | None = None,
    replied_ticket: Candidate | None = None,
    token_ticket: Candidate | None = None,
    same_topic: list[Candidate] | None = None,
) -> Decision:
    for rule, explicit in (("session", session_ticket), ("in_reply_to", replied_ticket),
                           ("subject_token", token_ticket)):
        if explicit is not None:
            return _reply_to(explicit, contact, windows, rule)
    joinable = [c for c in same_topic or () if _joins_by_topic(c, contact, windows)]
    if joinable:
        latest = max(joinable, key=lambda c: (c.last_at, c.id))
        return Decision(ticket_id=latest.id, rule="same_topic")
    if contact.automatic:
        return Decision(rule="automatic_unclaimed")
    return Decision(create=True, rule="new")


def _reply_to(ticket: Candidate, contact: Contact, windows: Windows, rule: str) -> Decision:
    if ticket.status not in DONE or contact.automatic:
        return Decision(ticket_id=ticket.id, rule=rule)
    done_at = ticket.done_at or ticket.last_at
    if contact.occurred_at - done_at <= windows.follow_up:
        return Decision(ticket_id=ticket.id, reopen=True, rule=f"{rule}:reopen")
    return Decision(create=True, follow_up_of=ticket.id, rule=f"{rule}:follow_up")


def _joins_by_topic(ticket: Candidate, contact: Contact, windows: Windows) -> bool:
    if ticket.status in DONE or ticket.topic != contact.topic:
        return False
    # Events may arrive out of order: an older interaction still joins if it is near the ticket.
    return ticket.first_at - windows.same_topic <= contact.occurred_at <= ticket.last_at + windows.same_topic
