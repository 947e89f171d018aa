"""The SMS channel: outbound SMS through an outbox (nothing lost while the SMSC is down), their
delivery receipts on the message, inbound SMS as a conversation threaded like a chat.

An SMS conversation is one session per customer number while it is not over: a notice sent to a
customer opens it (waiting, not queued); the customer's SMS joins it and queues it for an agent.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import logging
from collections.abc import Awaitable, Callable
from typing import Protocol

from omni.runtime.channels import Channel
from omni.runtime.clock import utcnow
from omni.runtime.errors import FailedPrecondition, PermissionDenied
from omni.sessions.domain.ivr import ContactFlow
from omni.sessions.domain.model import Direction, Identity, Message, Session, State, new_id
from omni.sessions.domain.sms import (
    CALLBACK_NOT_BOOKED,
    SURVEY_FOR,
    SURVEY_KEYWORDS,
    WAIT_NOTICE_FOR,
    Delivery,
    OutboundSms,
    SmsLimits,
    callback_booked,
    callback_reminder,
    inbound_number,
    outbound_number,
    receipt_outcome,
    received_text,
    sendable_text,
    survey_reply,
    survey_request,
    wait_notice,
)
from omni.sessions.repository import SessionRepository
from omni.sessions.usecases.conversations import Conversations
from omni.sessions.usecases.outbound_calls import OutboundCalls

log = logging.getLogger(__name__)

# Outbox rows claimed per pass of the sender.
_BATCH = 100

# Answers a contact's survey with a rating; whether it was taken (once, within the window).
SurveyAnswer = Callable[[str, int], Awaitable[bool]]


def _message_id(request_id: str) -> str:
    """The message (and outbox) id of an SMS sent for an event: the same on a redelivery."""
    return "I-" + hashlib.sha256(request_id.encode()).hexdigest()[:20]


class SmsTransport(Protocol):
    def submit(self, sms: OutboundSms) -> None:
        """Hand the SMS to the SMPP link (it sends when bound); answers come back to `SmsChannel`."""


class SmsChannel:
    def __init__(self, conversations: Conversations, repo: SessionRepository, transport: SmsTransport,
                 outbound: OutboundCalls, *, flow: ContactFlow, limits: SmsLimits, default_region: str, queue: str,
                 callback_keyword: str, poll_seconds: float) -> None:
        self._c = conversations
        self._repo = repo
        self._transport = transport
        self._outbound = outbound
        self._keyword = callback_keyword
        self._flow = flow
        self._limits = limits
        self._region = default_region
        self._queue = queue
        self._poll = poll_seconds
        self._wake = asyncio.Event()
        self._survey_answer: SurveyAnswer | None = None

    def answer_surveys_with(self, answer: SurveyAnswer) -> None:
        """Where a rating replied to a survey SMS goes (the surveys use case, made after the channel)."""
        self._survey_answer = answer

    async def send(self, number: str, text: str, *, sender: str = "", session_id: str = "",
                   request_id: str = "", not_before: dt.datetime | None = None,
                   callback_reminder: bool = False) -> Message:
        """Queue an SMS to `number` (any way of writing it) as an OUTBOUND message of the customer's
        SMS conversation (`session_id`, else their open one, else a new one). The SMS is stored in
        the outbox before the message, so a crash in between still sends it; one sent for an event
        (`request_id` given) is sent and recorded once however often the event comes; none is sent
        before `not_before`."""
        text = sendable_text(text, self._limits)
        to = outbound_number(number, self._region)
        session = await self._repo.get(session_id) if session_id else await self._conversation(to)
        now = utcnow()
        message = Message(id=_message_id(request_id) if request_id else new_id("I"), direction=Direction.OUTBOUND,
                          sender=sender or "sms", text=text, time=now, request_id=request_id,
                          delivery=Delivery.PENDING.value)
        await self._repo.queue_sms(OutboundSms(id=message.id, session_id=session.id, number=to, text=text,
                                               due=max(now, not_before or now), callback_reminder=callback_reminder))

        def add(current: Session) -> None:
            if all(m.id != message.id for m in current.messages):
                self._c.add(current, message)

        await self._c.record(session.id, add)
        self._wake.set()
        return message

    async def remind_callback(self, session_id: str, number: str, language: str, event_id: str, *,
                              not_before: dt.datetime | None = None) -> None:
        """Routing asked for the SMS announcing the next call of the callback `session_id`: sent to
        the callback's number as a message of the callback's session (so on its ticket, like its
        calls, with its delivery receipt), not before `not_before` (the end of the quiet hours)."""
        await self.send(number, callback_reminder(language), session_id=session_id, request_id=event_id,
                        not_before=not_before, callback_reminder=True)

    async def ask_survey(self, survey_session_id: str, number: str, language: str) -> None:
        """Send the survey of contact `survey_session_id` to `number`; a reply of 1-5 on the number's
        SMS conversation answers it (the latest SMS asking something is the one answered)."""
        conversation = await self._conversation(outbound_number(number, self._region))

        def ask(current: Session) -> None:
            current.attributes.pop(WAIT_NOTICE_FOR, None)
            current.attributes[SURVEY_FOR] = survey_session_id

        await self._repo.mutate(conversation.id, ask)
        await self.send(number, survey_request(language), session_id=conversation.id,
                        request_id=f"{survey_session_id}:survey")

    async def notify_wait(self, call_id: str, position: int, wait_seconds: int) -> Session:
        """Text a caller waiting in a queue their place and wait, with the keyword that books a
        callback (their SMS conversation remembers which call the notice was about)."""
        waiting = await self._repo.session_for_call(call_id)
        waiting.check_open()
        if waiting.state not in (State.QUEUED, State.OFFERED):
            raise FailedPrecondition(f"call {call_id} is {waiting.state.value}, not waiting in a queue")
        number = waiting.first_identity("phone")
        if not number:
            raise FailedPrecondition(f"call {call_id} has no caller number to text")
        conversation = await self._conversation(outbound_number(number, self._region))
        def notice(current: Session) -> None:
            current.attributes.pop(SURVEY_FOR, None)
            current.attributes[WAIT_NOTICE_FOR] = waiting.id

        await self._repo.mutate(conversation.id, notice)
        await self.send(number, wait_notice(position, wait_seconds, self._keyword), session_id=conversation.id)
        return waiting

    async def run(self) -> None:
        """Send what is due from the outbox, forever: new SMS at once, unanswered ones again after
        `resend_after`, until `max_attempts`."""
        while True:
            try:
                await self._send_due()
            except Exception:
                # MongoDB away: the rows stay in the outbox for the next pass.
                log.exception("SMS outbox pass failed; trying again")
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._poll)

    async def _send_due(self) -> None:
        now = utcnow()
        for sms in await self._repo.claim_due_sms(now, now + self._limits.resend_after, _BATCH):
            if sms.attempts > self._limits.max_attempts:
                await self._settle(sms.id, Delivery.FAILED,
                                   f"the SMSC did not take it in {self._limits.max_attempts} attempts")
            else:
                self._transport.submit(sms)

    async def submitted(self, sms_id: str, smsc_id: str) -> None:
        """The SMSC took the SMS (submit_sm_resp OK) under `smsc_id`."""
        sms = await self._repo.update_sms(sms_id, {"state": Delivery.SUBMITTED.value, "smsc_id": smsc_id})
        if sms is not None:
            await self._mark(sms, Delivery.SUBMITTED)

    async def refused(self, sms_id: str, status: str, *, retry: bool) -> None:
        """The SMSC answered submit_sm with an error: throttled or busy ones are sent again when
        their hold ends; any other error fails the SMS."""
        if retry:
            log.info("SMSC busy (%s) for SMS %s; sent again later", status, sms_id)
            return
        await self._settle(sms_id, Delivery.FAILED, f"refused by the SMSC: {status}")

    async def receipt(self, smsc_id: str, stat: str, error: str) -> None:
        """A delivery receipt (deliver_sm with a receipt) for the SMSC's message `smsc_id`."""
        outcome = receipt_outcome(stat)
        sms = await self._repo.sms_by_smsc_id(smsc_id) if outcome is not None else None
        if sms is None or outcome is None:
            return  # not final, or not ours (an SMS of another system on the same account)
        await self._settle(sms.id, outcome, "" if outcome is Delivery.DELIVERED else f"{stat} (error {error})")

    async def receive(self, source: str, text: str) -> Session | None:
        """An inbound SMS (deliver_sm): a message of the sender's open SMS conversation, queued
        for an agent. A sender that is no valid phone number is dropped (and logged)."""
        number = inbound_number(source, self._region)
        if number is None:
            log.warning("inbound SMS from %r dropped: not a valid phone number", source[:40])
            return None
        text = received_text(text, self._limits)
        session = await self._conversation(number)
        waiting = session.attributes.get(WAIT_NOTICE_FOR, "")
        booking = bool(waiting) and text.strip() == self._keyword
        surveyed = session.attributes.get(SURVEY_FOR, "")
        rating = SURVEY_KEYWORDS.get(text.strip()) if surveyed and self._survey_answer is not None else None

        def add(current: Session) -> None:
            message = self._c.inbound(current, text, sender=number)
            self._c.add(current, message)
            if booking:
                current.attributes.pop(WAIT_NOTICE_FOR, None)  # one booking per notice
            elif rating is not None:
                current.attributes.pop(SURVEY_FOR, None)  # one answer per survey SMS
            elif current.state is State.IVR:
                current.queue = self._flow.queue_for_intent(current.intent, self._queue)
                current.move(State.QUEUED, message.time, "SMS received")

        recorded, _ = await self._c.record(session.id, add)
        if booking:
            await self._book(waiting, number, recorded.id)
        elif rating is not None and self._survey_answer is not None:
            answered = await self._survey_answer(surveyed, rating)
            await self.send(number, survey_reply(answered, session.language), session_id=recorded.id)
        return recorded

    async def _book(self, waiting_id: str, number: str, conversation_id: str) -> None:
        """The keyword answering a wait notice: a callback to the number that answered (the
        caller's own, so verified), keeping the waiting call's place; the customer is told."""
        try:
            await self._outbound.book(waiting_id, number, None, verified_only=False)
        except (FailedPrecondition, PermissionDenied):
            await self.send(number, CALLBACK_NOT_BOOKED, session_id=conversation_id)
            return
        await self.send(number, callback_booked(number), session_id=conversation_id)

    async def _conversation(self, number: str) -> Session:
        """The number's open SMS conversation, else a new one (not queued until the customer writes)."""
        identity = Identity("phone", number)
        return await self._repo.open_session_for(Channel.SMS, identity) or await self._c.open(Channel.SMS, [identity])

    async def _settle(self, sms_id: str, delivery: Delivery, error: str) -> None:
        sms = await self._repo.update_sms(sms_id, {"state": delivery.value, "error": error})
        if sms is not None:
            await self._mark(sms, delivery)

    async def _mark(self, sms: OutboundSms, delivery: Delivery) -> None:
        """Record the delivery on the SMS's message (a receipt may come before the message is
        stored, when sending raced the write: the outbox row keeps the outcome either way)."""

        def mark(session: Session) -> Message | None:
            for message in session.messages:
                if message.id == sms.id and message.delivery not in (Delivery.DELIVERED, Delivery.FAILED):
                    message.delivery = delivery.value
                    return message
            return None

        session, marked = await self._repo.mutate(sms.session_id, mark)
        if marked is not None:
            # The agent's desk shows the SMS's delivery as it changes.
            await self._c.show_again(session, marked)
