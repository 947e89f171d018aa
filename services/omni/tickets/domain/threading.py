"""Which ticket an inbound interaction belongs to (docs/tickets.md, "Threading rules").

Order: the session's own ticket (every message of one chat or call lands together); for email
the `In-Reply-To`/`References` Message-IDs (and a bounce's returned original, an attached
message), then a `[#T-1042]` token in the subject; for phone and chat only, the customer's
active ticket on the same topic within the window (any topic for a call that ended in the IVR),
else their latest solved or closed ticket on that topic (the same matter come back); else a new
ticket. Who the customer of an email is, is
`senders.py`'s rule: threading never changes it. A contact about a solved or closed ticket
reopens it inside the follow-up window, else opens a new ticket linked as its follow-up.
Auto-replies and bounces are recorded but never open or reopen a ticket.

The use case finds the candidates (already following merged-into links); this module decides,
and says what joining or opening a ticket does to it, so the rules are testable without a database.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re

from omni.runtime.channels import Channel
from omni.runtime.clock import utcnow
from omni.tickets.domain.lifecycle import DONE, Status, contact_priority
from omni.tickets.domain.model import Customer, Interaction, Link, LinkKind, Sla, Ticket
from omni.tickets.domain.sla import SlaPolicy, responded

TOKEN = re.compile(r"\[#(T-\d{1,12})\]")
SUBJECT_CHARS = 200


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


def candidate(ticket: Ticket) -> Candidate:
    created = ticket.created_at or utcnow()
    return Candidate(id=ticket.id, status=ticket.status, topic=ticket.topic, first_at=ticket.first_at or created,
                     last_at=ticket.last_at or created, done_at=ticket.done_at)


@dataclasses.dataclass(frozen=True)
class Contact:
    occurred_at: dt.datetime
    topic: str
    # Auto-reply or delivery-status report.
    automatic: bool = False
    # Phone and chat cannot thread, so they join the customer's active ticket on the same topic;
    # an email that references nothing is a new matter (as Zendesk, Zammad and Chatwoot do).
    joins_by_topic: bool = True
    # A call that ended in the IVR has no topic yet: it joins the customer's latest active ticket
    # whatever its topic (else a new one), and reopens nothing.
    any_topic: bool = False


@dataclasses.dataclass(frozen=True)
class Windows:
    # An interaction joins an active ticket on the same topic if within this of its activity.
    same_topic: dt.timedelta
    # A reply this soon after a ticket was solved/closed reopens it.
    follow_up: dt.timedelta
    # A phone or chat contact on the topic of a ticket solved/closed longer ago than `follow_up`
    # but within this opens a new ticket linked as its follow-up; later, an unlinked new ticket.
    follow_up_link: dt.timedelta = dt.timedelta(days=30)


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
    on_topic = [c for c in same_topic or ()
                if contact.joins_by_topic and (contact.any_topic or c.topic == contact.topic)]
    joinable = [c for c in on_topic if _joins_by_topic(c, contact, windows)]
    if joinable:
        latest = max(joinable, key=lambda c: (c.last_at, c.id))
        return Decision(ticket_id=latest.id, rule="same_topic")
    came_back = [c for c in on_topic if _came_back(c, contact, windows)]
    if came_back:
        latest = max(came_back, key=lambda c: (c.done_at or c.last_at, c.id))
        return _reply_to(latest, contact, windows, "same_topic")
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
    if ticket.status in DONE:
        return False
    # Events may arrive out of order: an older interaction still joins if it is near the ticket.
    return ticket.first_at - windows.same_topic <= contact.occurred_at <= ticket.last_at + windows.same_topic


def _came_back(ticket: Candidate, contact: Contact, windows: Windows) -> bool:
    """A phone or chat contact about the matter of `ticket`, solved or closed: the same topic,
    within the follow-up link window of when it was done. Automated contacts reopen nothing."""
    if ticket.status not in DONE or contact.automatic or contact.any_topic:
        return False
    return contact.occurred_at - (ticket.done_at or ticket.last_at) <= windows.follow_up_link


def topic(interaction: Interaction) -> str:
    """What the interaction is about: its queue, else its intent."""
    return interaction.queue or interaction.intent


def _is_email(interaction: Interaction) -> bool:
    return interaction.channel is Channel.EMAIL


def replied_to(interaction: Interaction) -> list[str]:
    """The Message-IDs an email answers or carries: `In-Reply-To`, the original a bounce returns,
    `References`, then the Message-IDs of attached messages (a forward as attachment)."""
    if not _is_email(interaction):
        return []
    email = interaction.email
    returned = email.report.original_message_id if email.report else ""
    ids = (email.in_reply_to, returned, *email.references, *email.attached_message_ids)
    return list(dict.fromkeys(m.strip() for m in ids if m.strip()))


def token_of(interaction: Interaction) -> str:
    """The ticket id an email's subject names, or ''."""
    return subject_token(interaction.email.subject) if _is_email(interaction) else ""


def contact(interaction: Interaction, occurred: dt.datetime) -> Contact:
    is_email = _is_email(interaction)
    return Contact(occurred_at=occurred, topic=topic(interaction), automatic=is_email and interaction.email.automatic,
                   joins_by_topic=not is_email, any_topic=interaction.abandoned_in_ivr)


def subject(interaction: Interaction) -> str:
    """A new ticket's subject: the email's, else the first line said, else channel and topic."""
    if interaction.email.subject.strip():
        return interaction.email.subject.strip()[:SUBJECT_CHARS]
    first_line = interaction.text.strip().splitlines()[0] if interaction.text.strip() else ""
    if first_line:
        return first_line[:SUBJECT_CHARS]
    channel = str(interaction.channel or "contact")
    about = topic(interaction)
    return f"{channel.capitalize()} contact" + (f" about {about}" if about else "")


def opened_by(interaction: Interaction, ticket_id: str, customer: Customer, occurred: dt.datetime,
              now: dt.datetime, follow_up_of: str, policy: SlaPolicy) -> Ticket:
    """The ticket an inbound interaction opens (`follow_up_of`: the done ticket it follows up, or '')."""
    priority = contact_priority(urgent=interaction.urgent, emotion_score=interaction.emotion_score,
                                tier=customer.tier)
    first_due, resolution_due = policy.due(priority, occurred)
    return Ticket(
        id=ticket_id, customer_id=customer.id, subject=subject(interaction), priority=priority,
        queue=interaction.queue, group=interaction.queue, topic=topic(interaction),
        origin_channel=interaction.channel,
        links=[Link(LinkKind.FOLLOW_UP_OF, follow_up_of)] if follow_up_of else [],
        sla=Sla(first_response_due=first_due, resolution_due=resolution_due),
        created_at=now, updated_at=now, first_at=occurred, last_at=occurred, interaction_count=1,
    )


def attach(ticket: Ticket, interaction: Interaction, occurred: dt.datetime, *, reopen: bool) -> Status:
    """`interaction` joins `ticket` (reopening it if `reopen`); returns the status it had before.

    An agent's first reply is the first response: it opens a new ticket and takes it if nobody has.
    """
    previous = ticket.status
    ticket.interaction_count += 1
    if ticket.first_at is None or occurred < ticket.first_at:
        ticket.first_at = occurred
        ticket.origin_channel = interaction.channel or ticket.origin_channel
    ticket.last_at = max(ticket.last_at or occurred, occurred)
    if interaction.outbound:
        responded(ticket, occurred)
        if ticket.status is Status.NEW:
            ticket.status = Status.OPEN
        ticket.assignee_id = ticket.assignee_id or interaction.agent_id
    if reopen and ticket.status in DONE:
        ticket.status = Status.OPEN
        ticket.reopen_count += 1
        ticket.solved_at = ticket.closed_at = None
    return previous
