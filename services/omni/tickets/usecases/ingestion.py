"""Interactions into tickets: resolve the customer, thread into a ticket, record, publish.

One interaction is one unit of work: a MongoDB transaction (customer, identities, ticket,
interaction and the events to publish), recorded under the interaction id, so a redelivered
event changes nothing twice. Its events are stored with it and published after the commit —
and again on any redelivery, under the same ids, so a crash between commit and publish loses
nothing. The decisions are the domain's (`domain/threading.py`, `domain/identities.py`); this
module finds what they decide on and writes what they decided.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging

from omni.runtime.clock import utcnow
from omni.runtime.events import PermanentError
from omni.runtime.storage import ProcessedEvents
from omni.tickets import publishing
from omni.tickets.domain import customers, threading
from omni.tickets.domain.identities import readable
from omni.tickets.domain.model import Customer, IdentityConflict, Interaction, InteractionRecord, OutboxEvent, Ticket
from omni.tickets.domain.sla import SlaPolicy
from omni.tickets.publishing import TicketEvents
from omni.tickets.repository import TicketRepository, Transaction

log = logging.getLogger("omni.tickets.ingestion")


@dataclasses.dataclass(frozen=True)
class Rules:
    windows: threading.Windows
    sla: SlaPolicy
    default_region: str


class Ingestion:
    def __init__(self, repo: TicketRepository, events: TicketEvents, processed: ProcessedEvents, rules: Rules) -> None:
        self._repo = repo
        self._events = events
        self._processed = processed
        self._rules = rules

    async def ingest(self, interaction: Interaction) -> InteractionRecord:
        if not interaction.id:
            raise PermanentError("interaction has no id; it cannot be threaded idempotently")

        async def effect(session: Transaction) -> None:
            await _Threading(self._repo.within(session), self._rules).record(interaction)

        await self._processed.run_once(interaction.id, effect)
        stored = await self._repo.find_interaction(interaction.id)
        if stored is None:
            raise RuntimeError(f"interaction {interaction.id} was processed but is not stored")
        await self._events.flush(stored.outbox)
        return stored


class _Threading:
    """The unit of work of one interaction: every read and write in its transaction (`tx`), the
    events it will publish collected in `outbox`."""

    def __init__(self, tx: TicketRepository, rules: Rules) -> None:
        self._tx = tx
        self._rules = rules
        self._outbox: list[OutboxEvent] = []

    async def record(self, interaction: Interaction) -> None:
        now = utcnow()
        occurred = interaction.occurred_at or now
        ticket: Ticket | None
        if interaction.outbound:
            ticket = await self._outbound_ticket(interaction)
            customer_id, created = ticket.customer_id, False
            ticket = await self._attach(ticket, interaction, occurred, reopen=False)
        else:
            customer = await self._customer(interaction, now)
            customer_id = customer.id
            decision = await self._decide(interaction, customer, occurred)
            created = decision.create
            if decision.create:
                ticket = await self._open(interaction, customer, occurred, now, decision.follow_up_of)
            elif decision.ticket_id:
                ticket = await self._tx.get_ticket(decision.ticket_id)
                ticket = await self._attach(ticket, interaction, occurred, reopen=decision.reopen)
            else:
                ticket = None
            log.debug("interaction %s → %s (%s)", interaction.id, decision.ticket_id or "new", decision.rule)
        record = InteractionRecord(
            id=interaction.id, ticket_id=ticket.id if ticket else "", customer_id=customer_id,
            session_id=interaction.session_id, occurred_at=occurred, raw=interaction.raw,
            message_id=interaction.email.message_id.strip(), created_ticket=created, outbox=self._outbox,
        )
        self._outbox.append(publishing.threaded_outboxed(record))
        await self._tx.insert_interaction(record)

    async def _outbound_ticket(self, interaction: Interaction) -> Ticket:
        ticket_id = interaction.ticket_id or (await self._tx.session_ticket(interaction.session_id)
                                              if interaction.session_id else "")
        ticket = await self._tx.resolve_ticket(ticket_id) if ticket_id else None
        if ticket is None:
            raise PermanentError(f"outbound interaction {interaction.id} names no known ticket "
                                 f"(ticket_id {interaction.ticket_id!r}, session {interaction.session_id!r})")
        return ticket

    async def _customer(self, interaction: Interaction, now: dt.datetime) -> Customer:
        """Who the customer is: the one named, else the owner of the first presented identity that
        has one, else the customer of the same session, else someone new. Their unowned identities
        join them; one owned by another customer is reported for a person to merge."""
        tx = self._tx
        identities, skipped = readable(interaction.presented, self._rules.default_region)
        for reason in skipped:
            log.info("interaction %s: identity skipped: %s", interaction.id, reason)
        owners = await tx.owners(identities)
        customer: Customer | None = None
        if interaction.customer_id:
            customer = await tx.find_customer(interaction.customer_id)
            customer = await tx.get_customer(customer.id) if customer else None
        if customer is None:
            for identity in identities:
                if identity.key in owners:
                    customer = await tx.get_customer(owners[identity.key])
                    break
        if customer is None and interaction.session_id:
            known = await tx.session_customer(interaction.session_id)
            customer = await tx.get_customer(known) if known else None
        if customer is None:
            number = await tx.next_number("customer")
            customer = await tx.insert_customer(customers.first_met(interaction, f"C-{number}", now),
                                                f"interaction:{interaction.id}")
        for identity in identities:
            owner = owners.get(identity.key) or await tx.claim(customer.id, identity)
            if owner != customer.id:
                await tx.report_conflict(customer.id, IdentityConflict(identity, owner, interaction.id, now))
        if interaction.language and not customer.language:
            await tx.set_customer_fields(customer.id, {"language": interaction.language})
            customer.language = interaction.language
        return customer

    async def _decide(self, interaction: Interaction, customer: Customer,
                      occurred: dt.datetime) -> threading.Decision:
        tx = self._tx

        async def resolved(ticket_id: str) -> threading.Candidate | None:
            ticket = await tx.resolve_ticket(ticket_id) if ticket_id else None
            return threading.candidate(ticket) if ticket else None

        session_ticket = await resolved(await tx.session_ticket(interaction.session_id)) \
            if interaction.session_id else None
        message_ids = threading.replied_to(interaction)
        replied = await resolved(await tx.ticket_of_messages(message_ids)) if message_ids else None
        token = threading.token_of(interaction)
        token_ticket = threading.own_ticket(await tx.resolve_ticket(token), customer.id) if token else None
        same_topic = [threading.candidate(t) for t in await tx.active_tickets(customer.id) if not t.merged_into]
        return threading.decide(threading.contact(interaction, occurred), self._rules.windows,
                                session_ticket=session_ticket, replied_ticket=replied, token_ticket=token_ticket,
                                same_topic=same_topic)

    async def _open(self, interaction: Interaction, customer: Customer, occurred: dt.datetime, now: dt.datetime,
                    follow_up_of: str) -> Ticket:
        number = await self._tx.next_number("ticket")
        ticket = threading.opened_by(interaction, f"T-{number}", customer, occurred, now, follow_up_of,
                                     self._rules.sla)
        ticket, _ = await self._tx.insert_ticket(ticket, f"interaction:{interaction.id}")
        self._outbox.append(publishing.ticket_outboxed("ticket_created", f"{ticket.id}:created", ticket))
        return ticket

    async def _attach(self, ticket: Ticket, interaction: Interaction, occurred: dt.datetime, *,
                      reopen: bool) -> Ticket:
        previous = threading.attach(ticket, interaction, occurred, reopen=reopen)
        ticket = await self._tx.save_ticket(ticket, ticket.version)
        self._outbox.append(publishing.ticket_outboxed("ticket_updated", f"{interaction.id}:ticket_updated", ticket))
        if ticket.status != previous:
            self._outbox.append(publishing.ticket_outboxed("ticket_status_changed",
                                                           f"{ticket.id}:status:{ticket.version}", ticket,
                                                           previous=previous))
        return ticket
