"""Outbound calls of a booked callback: the command to the PBX adapter when an agent accepts
the callback, and the adapter's answers (docs/outbound.md).

The command is an event (`outbound_call_requested`) stored with the session's change in its
outbox, so a crash between the write and the publish loses no call and a redelivered
assignment asks for the same call id again.
"""

from __future__ import annotations

import datetime as dt
import functools

from omni.runtime.callback_times import check_chosen_time
from omni.runtime.clock import utcnow
from omni.runtime.errors import FailedPrecondition, PermissionDenied
from omni.runtime.storage import Document
from omni.runtime.validation import check_length, require
from omni.sessions.domain import outbound_calls
from omni.sessions.domain.model import Message, Session, State
from omni.sessions.domain.outbound_calls import CallResult, OutboundCall
from omni.sessions.publishing import SessionEvents
from omni.sessions.repository import SessionRepository
from omni.sessions.usecases.conversations import Conversations


class OutboundCalls:
    def __init__(self, conversations: Conversations, repo: SessionRepository, events: SessionEvents, *,
                 default_region: str) -> None:
        self._c = conversations
        self._repo = repo
        self._events = events
        self._region = default_region

    async def book(self, session_id: str, given: str, not_before: dt.datetime | None, *,
                   verified_only: bool) -> Session:
        """Book a callback for the waiting session, to the customer's own number or `given`
        (unverified then; refused with `verified_only`, as for a web visitor), keeping its place."""
        if not_before is not None:
            check_chosen_time(not_before.timestamp(), utcnow().timestamp())
        session = await self._repo.get(session_id)
        session.check_open()
        if session.state not in (State.QUEUED, State.OFFERED):
            raise FailedPrecondition(f"session {session.id} is {session.state.value}; a callback keeps a place in "
                                     "a queue, so the conversation must be waiting in one")
        number, verified = outbound_calls.callback_number(session, check_length(given, "number", 64), self._region)
        if not number:
            raise FailedPrecondition("no phone number of yours is known here; sign in on the website so we know it, "
                                     "or call us")
        if verified_only and not verified:
            raise PermissionDenied("a callback goes only to a phone number this conversation has verified")

        def remember(current: Session) -> None:
            outbound_calls.book(current, number, verified)

        def asked(current: Session, _: None) -> list[Document]:
            return [self._events.callback_requested(current, number, not_before)]

        session, _ = await self._c.record(session.id, remember, events=asked)
        return session

    async def customer_contacted(self, session_id: str, interaction_id: str, customer_id: str) -> None:
        """Tickets filed `interaction_id` of `session_id` for `customer_id`: when that is the
        customer getting in touch, their callbacks waiting elsewhere are not made (the policy
        stops as soon as the customer contacts us on any channel)."""
        if not customer_id:
            return
        contact = await self._repo.holding(session_id, interaction_id)
        if not outbound_calls.customer_spoke(contact, interaction_id):
            return
        for waiting in await self._repo.waiting_callbacks(customer_id):
            if waiting == session_id:
                continue
            _, stopped = await self._c.record(waiting, lambda current: outbound_calls.stop(current, contact, utcnow()))
            # A reminder put off past the quiet hours would announce a call that is not coming.
            if not stopped:
                continue
            unsent = frozenset(await self._repo.cancel_reminders(waiting, "not sent: the callback was stopped"))
            if unsent:
                await self._repo.mutate(waiting, functools.partial(outbound_calls.unsent, message_ids=unsent))

    async def awaits_call(self, session_id: str) -> bool:
        return outbound_calls.awaits_call(await self._repo.get(session_id))

    async def dial(self, session_id: str, agent_id: str, event_id: str) -> Session:
        """`agent_id` accepted the callback (routing's `work_assigned`, consumed as `event_id`):
        connect the session to them and ask the adapter for the next call."""
        session = await self._repo.get(session_id)
        attempt = int(session.attributes.get("outbound_attempt", "0")) + 1
        # Bound before the write, so the adapter's answers for it always find the session.
        await self._repo.claim_call(f"{session.id}-cb{attempt}", session.id)

        def apply(current: Session) -> OutboundCall | None:
            if not current.mark_applied(event_id) or not outbound_calls.awaits_call(current):
                return None
            return outbound_calls.dial(current, agent_id, utcnow())

        def command(current: Session, call: OutboundCall | None) -> list[Document]:
            return [] if call is None else [self._events.outbound_call_requested(current, call)]

        session, _ = await self._c.record(session.id, apply, events=command)
        return session

    async def report(self, call_id: str, result: CallResult) -> Session:
        """The adapter's answer for `call_id`: ringing, or a final result recorded on the ticket
        (and, when nobody answered, the session back in its queue for routing's next attempt)."""
        call_id = check_length(require(call_id, "call_id"), "call_id", 200)
        session = await self._repo.session_for_call(call_id)

        def apply(current: Session) -> tuple[OutboundCall, Message | None]:
            call = outbound_calls.current_call(current)
            message = outbound_calls.report(current, call_id, result, utcnow())
            if message is not None:
                self._c.add(current, message)
            return call, message

        def finished(current: Session, done: tuple[OutboundCall, Message | None]) -> list[Document]:
            call, message = done
            return [] if message is None else [self._events.outbound_call_finished(current, call, result)]

        session, _ = await self._c.record(session.id, apply, events=finished)
        return session
