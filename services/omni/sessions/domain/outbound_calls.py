"""Callbacks on a session: the number to call, each outbound call the platform asks the PBX
adapter to make, and what the adapter reports back (docs/outbound.md).

The session keeps the callback in its attributes (one write with its events): `callback_number`
and whether it is the customer's own (`callback_verified`), the current call (`outbound_call_id`,
`outbound_attempt`) and its last result (`outbound_result`). Every final result is an outbound
message of the session, so it lands on the customer's ticket like any other interaction.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum

from omni.runtime.errors import FailedPrecondition
from omni.runtime.phones import to_e164
from omni.sessions.domain.model import Direction, Message, Session, State, new_id
from omni.sessions.domain.sms import Delivery


class CallResult(enum.StrEnum):
    RINGING = "ringing"
    ANSWERED = "answered"
    BUSY = "busy"
    NO_ANSWER = "no_answer"
    VOICEMAIL = "voicemail"
    FAILED = "failed"

    @property
    def final(self) -> bool:
        return self is not CallResult.RINGING

    @property
    def reached(self) -> bool:
        return self is CallResult.ANSWERED


def callback_number(session: Session, given: str, default_region: str) -> tuple[str, bool]:
    """The number to call back and whether it is verified: the caller's ANI (or a signed chat
    phone identity) unless the customer gave another one, which is then unverified."""
    own = session.attributes.get("ani", "") or session.first_identity("phone")
    if not given:
        return own, bool(own)
    if own and (to_e164(given, default_region) or given) == (to_e164(own, default_region) or own):
        return own, True
    return given, False


def book(session: Session, number: str, verified: bool) -> None:
    session.attributes["callback_number"] = number
    session.attributes["callback_verified"] = "1" if verified else "0"
    session.attributes["callbacks"] = str(int(session.attributes.get("callbacks", "0")) + 1)
    # A new booking after a call that reached the customer is a new callback.
    session.attributes.pop("outbound_result", None)


def awaits_call(session: Session) -> bool:
    """A callback is booked and no call of it has reached the customer yet."""
    return bool(session.attributes.get("callback_number")) and (
        session.attributes.get("outbound_result") != CallResult.ANSWERED.value)


@dataclasses.dataclass(frozen=True)
class OutboundCall:
    call_id: str
    session_id: str
    number: str
    verified: bool
    agent_id: str
    queue: str
    attempt: int
    caller_id: str


def dial(session: Session, agent_id: str, at: dt.datetime) -> OutboundCall:
    """The agent accepted the callback: the session is connected to them while the next call of
    it is made. The call id names session and attempt, so a redelivered assignment asks for
    the same call again (and the adapter deduplicates on it)."""
    attempt = int(session.attributes.get("outbound_attempt", "0")) + 1
    call = OutboundCall(call_id=f"{session.id}-cb{attempt}", session_id=session.id,
                        number=session.attributes["callback_number"],
                        verified=session.attributes.get("callback_verified") == "1", agent_id=agent_id,
                        queue=session.queue, attempt=attempt, caller_id=session.attributes.get("dnis", ""))
    session.attributes.update(outbound_call_id=call.call_id, outbound_attempt=str(attempt),
                              outbound_result="dialing")
    session.move(State.CONNECTED, at, f"calling back {call.number} (attempt {attempt})")
    session.agent_id = agent_id
    return call


def current_call(session: Session) -> OutboundCall:
    return OutboundCall(call_id=session.attributes.get("outbound_call_id", ""), session_id=session.id,
                        number=session.attributes.get("callback_number", ""),
                        verified=session.attributes.get("callback_verified") == "1", agent_id=session.agent_id,
                        queue=session.queue, attempt=int(session.attributes.get("outbound_attempt", "0")),
                        caller_id=session.attributes.get("dnis", ""))


_TEXT = {
    CallResult.ANSWERED: "answered",
    CallResult.BUSY: "busy",
    CallResult.NO_ANSWER: "no answer",
    CallResult.VOICEMAIL: "voicemail",
    CallResult.FAILED: "could not be dialled",
}


def report(session: Session, call_id: str, result: CallResult, at: dt.datetime) -> Message | None:
    """Apply the adapter's `result` for `call_id`; the message that records a final result on
    the ticket, None when there is nothing new (ringing, or a result reported again)."""
    if session.attributes.get("outbound_call_id") != call_id:
        raise FailedPrecondition(f"call {call_id} is not the current outbound call of session {session.id} "
                                 f"(that is {session.attributes.get('outbound_call_id') or 'none'})")
    recorded = session.attributes.get("outbound_result", "")
    if recorded not in ("dialing", CallResult.RINGING.value):
        return None  # a final result came already: a retried report
    session.attributes["outbound_result"] = result.value
    if not result.final:
        return None
    call = current_call(session)
    verified = "" if call.verified else ", number given by the customer, unverified"
    message = Message(id=new_id("I"), direction=Direction.OUTBOUND, sender=session.agent_id,
                      text=f"Callback call to {call.number} (attempt {call.attempt}{verified}): {_TEXT[result]}",
                      time=at, request_id=call_id)
    if not result.reached:
        # Nobody picked up: the customer waits for the next attempt, which routing schedules.
        session.move(State.QUEUED, at, f"callback attempt {call.attempt}: {_TEXT[result]}")
        session.agent_id = ""
    return message


def customer_spoke(session: Session, interaction_id: str) -> bool:
    """Whether `interaction_id` of the session is the customer getting in touch (an inbound
    message, not an auto-reply or a bounce)."""
    message = next((m for m in session.messages if m.id == interaction_id), None)
    return (message is not None and message.direction is Direction.INBOUND
            and not (message.email is not None and message.email.automatic))


def unsent(session: Session, message_ids: frozenset[str]) -> None:
    """The SMS `message_ids` of the session will not be sent: their messages say so."""
    for message in session.messages:
        if message.id in message_ids:
            message.delivery = Delivery.FAILED.value


def stop(session: Session, contact: Session, at: dt.datetime) -> bool:
    """The customer got in touch on `contact` while this callback waited: it is not made. False
    when it no longer waits (being called, answered, over)."""
    if not awaits_call(session) or session.state not in (State.QUEUED, State.OFFERED):
        return False
    session.attributes["outbound_result"] = "stopped"
    session.move(State.ENDED, at, f"callback stopped: the customer contacted us by {contact.channel.value} "
                                  f"(session {contact.id})")
    return True
