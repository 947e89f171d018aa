"""Interactions into tickets: resolve the customer, thread into a ticket, record, publish.

A batch of interactions (what one fetch from the bus brought, or a single one) is one unit of
work: a MongoDB transaction (customers, identities, tickets, interactions and the events to
publish). The stored interaction (its id is the event's) is the receipt, so a redelivered event
changes nothing twice. The batch is threaded in order against a `Workspace` that read what it
needs with one query per kind and writes it back with one bulk write per collection. Its events are stored with each
interaction and published after the commit — and again on any redelivery, under the same ids,
so a crash between commit and publish loses nothing. The decisions are the domain's
(`domain/threading.py`, `domain/identities.py`); this module finds what they decide on and
writes what they decided.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Sequence

from omni.runtime.channels import Channel
from omni.runtime.clock import utcnow
from omni.runtime.events import PermanentError
from omni.runtime.transactions import Transactions
from omni.tickets import publishing
from omni.tickets.domain import customers, senders, threading
from omni.tickets.domain.identities import Kind, Presented, readable
from omni.tickets.domain.model import (
    Bounce,
    Customer,
    IdentityConflict,
    Interaction,
    InteractionRecord,
    OutboxEvent,
    Ticket,
)
from omni.tickets.domain.sla import SlaPolicy
from omni.tickets.publishing import TicketEvents
from omni.tickets.repository import TicketRepository, Transaction
from omni.tickets.usecases.identity_owners import KnownOwners
from omni.tickets.usecases.numbering import NumberPool
from omni.tickets.usecases.workspace import Workspace

log = logging.getLogger("omni.tickets.ingestion")


@dataclasses.dataclass(frozen=True)
class Rules:
    windows: threading.Windows
    sla: SlaPolicy
    default_region: str


class Ingestion:
    def __init__(self, repo: TicketRepository, events: TicketEvents, transactions: Transactions, rules: Rules,
                 known: KnownOwners) -> None:
        self._repo = repo
        self._events = events
        self._transactions = transactions
        self._rules = rules
        self._numbers = NumberPool(repo.reserve_numbers)
        self._known = known

    async def ingest(self, interactions: Sequence[Interaction]) -> None:
        """Thread `interactions` in order, as one unit of work; an id seen before (earlier in the
        batch or in an earlier one) only has its events published again."""
        for interaction in interactions:
            if not interaction.id:
                raise PermanentError("interaction has no id; it cannot be threaded idempotently")
        by_id = {i.id: i for i in reversed(interactions)}
        ordered = list(dict.fromkeys(i.id for i in interactions))
        # The stored interaction is the receipt: threaded before means stored, with its events.
        outboxes = {r.id: r.outbox for r in await self._repo.interactions_by_id(ordered)}
        fresh = [i for i in ordered if i not in outboxes]
        claimed: dict[str, str] = {}

        async def effect(session: Transaction) -> None:
            for interaction_id in fresh:
                outboxes.pop(interaction_id, None)  # a retried transaction starts over
            claimed.clear()
            batch = [by_id[i] for i in fresh]
            work = Workspace(self._repo.within(session), self._numbers, self._known,
                             done_since=self._done_since(batch))
            try:
                await work.prefetch(batch, self._rules.default_region)
                for interaction_id in fresh:
                    outboxes[interaction_id] = await _Threading(work, self._rules).record(by_id[interaction_id])
                # Inserting the interactions fails (and nothing is written) if another replica
                # threaded one of them meanwhile; the events then go one by one and find it stored.
                await work.commit()
                claimed.update(work.claimed())
            except BaseException:
                # Certainly not committed (a failed commit may have happened: its numbers are skipped).
                work.abandon()
                raise

        if fresh:
            await self._transactions.run(effect, f"{len(fresh)} interaction(s) from {fresh[0]} on")
        self._known.learn(claimed)  # committed now
        await self._events.flush([event for i in ordered for event in outboxes[i]])

    def _done_since(self, batch: Sequence[Interaction]) -> dt.datetime | None:
        """How far back a done ticket can be a contact's matter (threading's rule 6), for the
        earliest contact of the batch that threads by topic; None when none does."""
        by_topic = [i.occurred_at or utcnow() for i in batch
                    if not i.outbound and threading.contact(i, utcnow()).joins_by_topic]
        return min(by_topic) - self._rules.windows.follow_up_link if by_topic else None


@dataclasses.dataclass(frozen=True)
class _Explicit:
    """The tickets an interaction names itself, in the order threading believes them."""

    session: Ticket | None = None
    replied: Ticket | None = None
    token: Ticket | None = None

    def first(self) -> Ticket | None:
        return self.session or self.replied or self.token

    def candidates(self) -> tuple[threading.Candidate | None, ...]:
        return tuple(threading.candidate(t) if t else None for t in (self.session, self.replied, self.token))


class _Threading:
    """One interaction of a batch: every read and write through the batch's workspace (`tx`), the
    events it will publish collected in `outbox`."""

    def __init__(self, tx: Workspace, rules: Rules) -> None:
        self._tx = tx
        self._rules = rules
        self._outbox: list[OutboxEvent] = []

    async def record(self, interaction: Interaction) -> list[OutboxEvent]:
        now = utcnow()
        occurred = interaction.occurred_at or now
        ticket: Ticket | None
        if interaction.outbound:
            ticket = await self._outbound_ticket(interaction)
            customer_id, created = ticket.customer_id, False
            ticket = await self._attach(ticket, interaction, occurred, reopen=False)
        else:
            explicit = await self._explicit(interaction)
            if interaction.channel is Channel.EMAIL:
                customer, third_party = await self._mail_customer(interaction, explicit, now)
            else:
                customer, third_party = await self._customer(interaction, now), False
            customer_id = customer.id if customer else ""
            session_ticket, replied_ticket, token_ticket = explicit.candidates()
            contact = threading.contact(interaction, occurred)
            decision = threading.decide(
                contact, self._rules.windows,
                session_ticket=session_ticket, replied_ticket=replied_ticket, token_ticket=token_ticket,
                same_topic=await self._tx.topic_candidates(customer_id)
                if customer_id and contact.joins_by_topic else [])
            created = decision.create
            if decision.create and customer is not None:
                ticket = await self._open(interaction, customer, occurred, now, decision.follow_up_of)
            elif decision.ticket_id:
                ticket = await self._tx.get_ticket(decision.ticket_id)
                if third_party:
                    senders.join_as_participant(ticket.participants, interaction.email.sender)
                ticket = await self._attach(ticket, interaction, occurred, reopen=decision.reopen)
            else:
                ticket, created = None, False
            log.debug("interaction %s → %s (%s)", interaction.id, decision.ticket_id or "new", decision.rule)
        record = InteractionRecord(
            id=interaction.id, ticket_id=ticket.id if ticket else "", customer_id=customer_id,
            session_id=interaction.session_id, occurred_at=occurred, raw=interaction.raw,
            message_id=interaction.email.message_id.strip(), created_ticket=created,
            third_party=not interaction.outbound and third_party, outbox=self._outbox,
        )
        report = interaction.email.report
        if report is not None and report.original_message_id:
            await self._bounced(dataclasses.replace(report, interaction_id=interaction.id))
        self._outbox.append(publishing.threaded_outboxed(record))
        await self._tx.insert_interaction(record)
        return self._outbox

    async def _bounced(self, bounce: Bounce) -> None:
        bounced = await self._tx.mark_bounced(bounce)
        if bounced is not None and bounced.ticket_id:
            self._outbox.append(publishing.bounced_outboxed(bounced, bounce))

    async def _outbound_ticket(self, interaction: Interaction) -> Ticket:
        ticket_id = interaction.ticket_id or (await self._tx.session_ticket(interaction.session_id)
                                              if interaction.session_id else "")
        ticket = await self._tx.resolve_ticket(ticket_id) if ticket_id else None
        if ticket is None:
            raise PermanentError(f"outbound interaction {interaction.id} names no known ticket "
                                 f"(ticket_id {interaction.ticket_id!r}, session {interaction.session_id!r})")
        return ticket

    async def _customer(self, interaction: Interaction, now: dt.datetime, *,
                        presented: Sequence[Presented] | None = None, by_session: bool = True) -> Customer:
        """Who the customer is: the one named, else the owner of the first presented identity that
        has one, else the customer of the same session, else someone new. Their unowned identities
        join them; one owned by another customer is reported for a person to merge."""
        tx = self._tx
        identities, skipped = readable(interaction.presented if presented is None else presented,
                                       self._rules.default_region)
        for reason in skipped:
            log.info("interaction %s: identity skipped: %s", interaction.id, reason)
        owners = await tx.owners(identities)
        customer: Customer | None = None
        if interaction.customer_id and by_session:
            customer = await tx.find_customer(interaction.customer_id)
            customer = await tx.get_customer(customer.id) if customer else None
        if customer is None:
            for identity in identities:
                if identity.key in owners:
                    customer = await tx.get_customer(owners[identity.key])
                    break
        if customer is None and interaction.session_id and by_session:
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

    async def _explicit(self, interaction: Interaction) -> _Explicit:
        """The tickets the interaction names: its session's, the one its Message-IDs answer, the
        one its subject token names (any customer's: `senders` keeps the sender out of it)."""
        tx = self._tx

        async def resolved(ticket_id: str) -> Ticket | None:
            return await tx.resolve_ticket(ticket_id) if ticket_id else None

        message_ids = threading.replied_to(interaction)
        return _Explicit(
            session=await resolved(await tx.session_ticket(interaction.session_id)) if interaction.session_id else None,
            replied=await resolved(await tx.ticket_of_messages(message_ids)) if message_ids else None,
            token=await resolved(threading.token_of(interaction)),
        )

    async def _mail_customer(self, interaction: Interaction, explicit: _Explicit,
                             now: dt.datetime) -> tuple[Customer | None, bool]:
        """The customer of an inbound email and whether its sender is a third party
        (`domain/senders.py`): threading headers never add an identity to anyone."""
        tx = self._tx
        email = interaction.email
        presented = [(Kind.EMAIL, email.sender)] if email.sender else \
            [(kind, value) for kind, value in interaction.presented if kind is Kind.EMAIL][:1]
        identities, skipped = readable(presented, self._rules.default_region)
        for reason in skipped:
            log.info("interaction %s: sender skipped: %s", interaction.id, reason)
        identity = identities[0] if identities else None
        owner = (await tx.owners([identity])).get(identity.key, "") if identity else ""
        threaded = explicit.first()
        standing = senders.standing(senders.Sender(identity, automatic=email.automatic, unverified=email.unverified),
                                    thread_customer=threaded.customer_id if threaded else "", owner=owner)
        log.debug("interaction %s: sender %s (%s)", interaction.id, identity, standing.rule)
        if standing.by_identities:
            # The session's customer is not asked: a session joined by headers says nothing of who wrote.
            return await self._customer(interaction, now, presented=[*interaction.presented, *presented],
                                        by_session=False), False
        if standing.customer_id:
            customer: Customer | None = await tx.get_customer(standing.customer_id)
        elif standing.new_customer:
            number = await tx.next_number("customer")
            customer = await tx.insert_customer(customers.first_met(interaction, f"C-{number}", now),
                                                f"interaction:{interaction.id}")
        else:
            customer = None
        if customer is not None and identity is not None and standing.link_identity:
            owner = await tx.claim(customer.id, identity)
            if owner != customer.id:
                await tx.report_conflict(customer.id, IdentityConflict(identity, owner, interaction.id, now))
        return customer, standing.third_party

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
