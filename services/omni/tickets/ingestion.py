"""Interactions into tickets: resolve the customer, thread into a ticket, record, publish.

One interaction is one MongoDB transaction (customer, identities, ticket, interaction and the
events to publish), recorded under the interaction id, so a redelivered event changes nothing
twice. Its events are stored with it and published after the commit — and again on any
redelivery, under the same ids, so a crash between commit and publish loses nothing.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging

from pymongo.asynchronous.client_session import AsyncClientSession

from omni.runtime.clock import utcnow
from omni.runtime.events import PermanentError
from omni.runtime.storage import Document, ProcessedEvents
from omni.tickets import convert, threading
from omni.tickets.identities import readable
from omni.tickets.lifecycle import DONE, Status, contact_priority
from omni.tickets.model import Customer, IdentityConflict, Link, LinkKind, Sla, Ticket
from omni.tickets.publishing import TicketEvents, outbox_entry, ticket_event
from omni.tickets.repository import StoredInteraction, TicketRepository, candidate
from omni.tickets.sla import SlaPolicy
from omnichannel.common.v1 import common_pb2
from omnichannel.tickets.v1 import events_pb2

log = logging.getLogger("omni.tickets.ingestion")

SUBJECT_CHARS = 200


@dataclasses.dataclass(frozen=True)
class Rules:
    windows: threading.Windows
    sla: SlaPolicy
    default_region: str


class Ingestion:
    def __init__(self, repo: TicketRepository, events: TicketEvents, processed: ProcessedEvents, rules: Rules) -> None:
        self.repo = repo
        self._events = events
        self._processed = processed
        self._rules = rules

    async def ingest(self, interaction: common_pb2.Interaction) -> StoredInteraction:
        if not interaction.id:
            raise PermanentError("interaction has no id; it cannot be threaded idempotently")

        async def effect(session: AsyncClientSession) -> None:
            await self._thread(interaction, session)

        await self._processed.run_once(interaction.id, effect)
        stored = await self.repo.find_interaction(interaction.id)
        if stored is None:
            raise RuntimeError(f"interaction {interaction.id} was processed but is not stored")
        await self._events.flush(stored.outbox)
        return stored

    async def _thread(self, msg: common_pb2.Interaction, s: AsyncClientSession) -> None:
        now = utcnow()
        occurred = msg.occurred_at.ToDatetime(dt.UTC) if msg.HasField("occurred_at") else now
        outbox: list[Document] = []
        if msg.direction == common_pb2.DIRECTION_OUTBOUND:
            ticket = await self._outbound_ticket(msg, s)
            customer_id, created = ticket.customer_id, False
            ticket = await self._attach(ticket, msg, occurred, reopen=False, s=s, outbox=outbox)
        else:
            customer = await self._customer(msg, now, s)
            customer_id = customer.id
            decision = await self._decide(msg, customer, occurred, s)
            created = decision.create
            if decision.create:
                ticket = await self._create(msg, customer, occurred, now, decision.follow_up_of, s, outbox)
            elif decision.ticket_id:
                ticket = await self.repo.get_ticket(decision.ticket_id, s)
                ticket = await self._attach(ticket, msg, occurred, reopen=decision.reopen, s=s, outbox=outbox)
            else:
                ticket = None
            log.debug("interaction %s → %s (%s)", msg.id, decision.ticket_id or "new", decision.rule)
        ticket_id = ticket.id if ticket else ""
        threaded = events_pb2.InteractionThreaded(interaction_id=msg.id, session_id=msg.session_id,
                                                  ticket_id=ticket_id, customer_id=customer_id,
                                                  created_ticket=created)
        outbox.append(outbox_entry("interaction_threaded", f"tickets/{ticket_id}", f"{msg.id}:threaded", threaded))
        await self.repo.insert_interaction(StoredInteraction(
            id=msg.id, ticket_id=ticket_id, customer_id=customer_id, session_id=msg.session_id,
            occurred_at=occurred, raw=msg.SerializeToString(), message_id=msg.email.message_id.strip(),
            created_ticket=created, outbox=outbox,
        ), s)

    async def _outbound_ticket(self, msg: common_pb2.Interaction, s: AsyncClientSession) -> Ticket:
        ticket_id = msg.ticket_id or (await self.repo.session_ticket(msg.session_id, s) if msg.session_id else "")
        ticket = await self.repo.resolve_ticket(ticket_id, s) if ticket_id else None
        if ticket is None:
            raise PermanentError(f"outbound interaction {msg.id} names no known ticket "
                                 f"(ticket_id {msg.ticket_id!r}, session {msg.session_id!r})")
        return ticket

    async def _customer(self, msg: common_pb2.Interaction, now: dt.datetime, s: AsyncClientSession) -> Customer:
        presented = [(convert.KINDS_BACK[i.kind], i.value) for i in msg.customer.identities
                     if i.kind in convert.KINDS_BACK]
        identities, skipped = readable(presented, self._rules.default_region)
        for reason in skipped:
            log.info("interaction %s: identity skipped: %s", msg.id, reason)
        owners = await self.repo.owners(identities, s)
        customer: Customer | None = None
        if msg.customer.customer_id:
            customer = await self.repo.find_customer(msg.customer.customer_id, s)
            customer = await self.repo.get_customer(customer.id, s) if customer else None
        if customer is None:
            for identity in identities:
                if identity.key in owners:
                    customer = await self.repo.get_customer(owners[identity.key], s)
                    break
        if customer is None and msg.session_id:
            known = await self.repo.session_customer(msg.session_id, s)
            customer = await self.repo.get_customer(known, s) if known else None
        if customer is None:
            number = await self.repo.next_number("customer", s)
            customer = await self.repo.insert_customer(Customer(
                id=f"C-{number}", display_name=msg.customer.display_name[:SUBJECT_CHARS], language=msg.language,
                created_at=now, updated_at=now), f"interaction:{msg.id}", s)
        for identity in identities:
            owner = owners.get(identity.key) or await self.repo.claim(customer.id, identity, s)
            if owner != customer.id:
                # Two customers' identities presented together: a person decides (MergeCustomers).
                await self.repo.report_conflict(customer.id, IdentityConflict(identity, owner, msg.id, now), s)
        if msg.language and not customer.language:
            await self.repo.set_customer_fields(customer.id, {"language": msg.language}, s)
            customer.language = msg.language
        return customer

    async def _decide(self, msg: common_pb2.Interaction, customer: Customer, occurred: dt.datetime,
                      s: AsyncClientSession) -> threading.Decision:
        async def resolved(ticket_id: str) -> threading.Candidate | None:
            ticket = await self.repo.resolve_ticket(ticket_id, s) if ticket_id else None
            return candidate(ticket) if ticket else None

        session_ticket = await resolved(await self.repo.session_ticket(msg.session_id, s)) if msg.session_id \
            else None
        replied = token = None
        automatic = False
        if msg.channel == common_pb2.CHANNEL_EMAIL:
            email = msg.email
            automatic = email.auto_submitted or email.delivery_status_report
            message_ids = [m.strip() for m in (email.in_reply_to, *email.references) if m.strip()]
            if message_ids:
                replied = await resolved(await self.repo.ticket_of_messages(message_ids, s))
            named = await self.repo.resolve_ticket(threading.subject_token(email.subject), s) \
                if threading.subject_token(email.subject) else None
            # A token only threads the customer's own ticket: guessing T-numbers reads no one else's.
            token = candidate(named) if named and named.customer_id == customer.id else None
        same_topic = [candidate(t) for t in await self.repo.active_tickets(customer.id, s) if not t.merged_into]
        contact = threading.Contact(occurred_at=occurred, topic=_topic(msg), automatic=automatic)
        return threading.decide(contact, self._rules.windows, session_ticket=session_ticket, replied_ticket=replied,
                                token_ticket=token, same_topic=same_topic)

    async def _create(self, msg: common_pb2.Interaction, customer: Customer, occurred: dt.datetime,
                      now: dt.datetime, follow_up_of: str, s: AsyncClientSession, outbox: list[Document]) -> Ticket:
        number = await self.repo.next_number("ticket", s)
        priority = contact_priority(urgent=msg.urgent, emotion_score=msg.emotion_score, tier=customer.tier)
        first_due, resolution_due = self._rules.sla.due(priority, occurred)
        ticket = Ticket(
            id=f"T-{number}", customer_id=customer.id, subject=_subject(msg), priority=priority, queue=msg.queue,
            group=msg.queue, topic=_topic(msg), origin_channel=convert.CHANNELS_BACK.get(msg.channel, ""),
            links=[Link(LinkKind.FOLLOW_UP_OF, follow_up_of)] if follow_up_of else [],
            sla=Sla(first_response_due=first_due, resolution_due=resolution_due),
            created_at=now, updated_at=now, first_at=occurred, last_at=occurred, interaction_count=1,
        )
        ticket, _ = await self.repo.insert_ticket(ticket, f"interaction:{msg.id}", s)
        outbox.append(outbox_entry("ticket_created", f"tickets/{ticket.id}", f"{ticket.id}:created",
                                   ticket_event(ticket)))
        return ticket

    async def _attach(self, ticket: Ticket, msg: common_pb2.Interaction, occurred: dt.datetime, *, reopen: bool,
                      s: AsyncClientSession, outbox: list[Document]) -> Ticket:
        previous = ticket.status
        ticket.interaction_count += 1
        if ticket.first_at is None or occurred < ticket.first_at:
            ticket.first_at = occurred
            ticket.origin_channel = convert.CHANNELS_BACK.get(msg.channel, ticket.origin_channel)
        ticket.last_at = max(ticket.last_at or occurred, occurred)
        if msg.direction == common_pb2.DIRECTION_OUTBOUND:
            if ticket.sla.first_response_at is None:
                ticket.sla.first_response_at = occurred
            if ticket.status is Status.NEW:
                ticket.status = Status.OPEN
            ticket.assignee_id = ticket.assignee_id or msg.agent_id
        if reopen and ticket.status in DONE:
            ticket.status = Status.OPEN
            ticket.reopen_count += 1
            ticket.solved_at = ticket.closed_at = None
        ticket = await self.repo.save_ticket(ticket, ticket.version, s)
        outbox.append(outbox_entry("ticket_updated", f"tickets/{ticket.id}", f"{msg.id}:ticket_updated",
                                   ticket_event(ticket)))
        if ticket.status != previous:
            outbox.append(outbox_entry("ticket_status_changed", f"tickets/{ticket.id}",
                                       f"{ticket.id}:status:{ticket.version}", ticket_event(ticket, previous=previous)))
        return ticket


def _topic(msg: common_pb2.Interaction) -> str:
    return msg.queue or msg.intent


def _subject(msg: common_pb2.Interaction) -> str:
    if msg.email.subject.strip():
        return msg.email.subject.strip()[:SUBJECT_CHARS]
    first_line = msg.text.strip().splitlines()[0] if msg.text.strip() else ""
    if first_line:
        return first_line[:SUBJECT_CHARS]
    channel = convert.CHANNELS_BACK.get(msg.channel, "contact")
    return f"{channel.capitalize()} contact" + (f" about {_topic(msg)}" if _topic(msg) else "")
