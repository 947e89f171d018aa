"""Phone calls, as a PBX/CPaaS adapter reports them: start, IVR input, answer, transfer, end.

The call's interaction is published when the IVR has decided its queue (the moment the call
enters the queue), not when it starts: routing enqueues one work item per interaction.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Awaitable, Callable, Sequence

from omni.runtime import accessibility as accessibility_limits
from omni.runtime.auth import Principal
from omni.runtime.channels import Channel
from omni.runtime.clock import utcnow
from omni.runtime.errors import FailedPrecondition, InvalidArgument, NotFound
from omni.runtime.storage import Document
from omni.runtime.validation import check_length, require
from omni.sessions.domain.access import check_supervising
from omni.sessions.domain.call_legs import CallLegCommand, CallLegMode, command_of, leg_note
from omni.sessions.domain.classifier import Classifier
from omni.sessions.domain.ivr import HUMAN_INTENT, ContactFlow, ivr_abandoned_text
from omni.sessions.domain.model import Identity, Message, Note, Session, State, TextLimit, new_id
from omni.sessions.publishing import SessionEvents
from omni.sessions.repository import SessionRepository
from omni.sessions.usecases.conversations import Conversations
from omni.sessions.usecases.outbound_calls import OutboundCalls

DTMF_KEYS = frozenset("0123456789*#")


@dataclasses.dataclass(frozen=True)
class CallStep:
    session: Session
    # What to play next; empty when the call has left the IVR.
    prompt: str = ""

    @property
    def slow_prompts(self) -> bool:
        """The caller has an accessibility need: prompts and announcements slow and plain."""
        return bool(self.session.attributes.get(ACCESSIBILITY))


# The session attribute (and so the interaction's) naming the caller's accessibility needs,
# comma-separated; routing reads it.
ACCESSIBILITY = "accessibility"


class Calls:
    def __init__(self, conversations: Conversations, repo: SessionRepository, events: SessionEvents, *,
                 flow: ContactFlow, classifier: Classifier, limit: TextLimit, outbound: OutboundCalls,
                 callback_digit: str, max_notes: int,
                 tagged_needs: Callable[[str], Awaitable[tuple[str, ...]]] | None = None) -> None:
        """`tagged_needs(ani)`: the accessibility needs the caller's customer tags name."""
        self._c = conversations
        self._repo = repo
        self._events = events
        self._flow = flow
        self._classifier = classifier
        self._limit = limit
        self._outbound = outbound
        self._callback_digit = callback_digit
        self._max_notes = max_notes
        self._tagged_needs = tagged_needs

    async def start(self, call_id: str, ani: str, dnis: str, language: str, previous_session_id: str,
                    accessibility: Sequence[str] = ()) -> CallStep:
        call_id = check_length(require(call_id, "call_id"), "call_id", 200)
        ani = check_length(require(ani, "ani (the caller's number)"), "ani", 64)
        needs = self._flow.caller_needs(dnis, accessibility)
        if self._tagged_needs is not None:
            tagged = await self._tagged_needs(ani)
            needs = tuple(dict.fromkeys((*needs, *tagged)))[:accessibility_limits.MAX_NEEDS]
        session_id = new_id("S")
        # The call id is bound first, so a PBX retrying StartCall gets the same session back.
        earlier = await self._repo.claim_call(call_id, session_id)
        if earlier is not None:
            try:
                session = await self._repo.get(earlier)
                in_ivr = session.state is State.IVR
                return CallStep(session, self._flow.menu_at(_path(session)).prompt if in_ivr else "")
            except NotFound:
                session_id = earlier  # claimed, but the session write never happened: make it now
        attributes = {"call_id": call_id, "ani": ani, "dnis": dnis, "ivr_path": "", "ivr_invalid": "0"}
        if needs:
            attributes[ACCESSIBILITY] = ",".join(needs)
        session = await self._c.open(
            Channel.PHONE, [Identity("phone", ani)], language=language, previous_session_id=previous_session_id,
            attributes=attributes, session_id=session_id,
        )
        if needs and self._flow.accessibility_skips_menu:
            return await self._straight_to_a_person(session, needs)
        return CallStep(session, self._flow.menu.prompt)

    async def _straight_to_a_person(self, session: Session, needs: Sequence[str]) -> CallStep:
        """A caller with an accessibility need skips the menus (seed 000): queued for a person at once."""
        queue = self._flow.human_queue

        def record(current: Session) -> None:
            current.queue, current.intent = queue, current.intent or HUMAN_INTENT
            message = self._c.inbound(current, f"IVR: menus skipped ({', '.join(needs)})")
            self._c.add(current, message)
            current.move(State.QUEUED, message.time, f"accessibility: {', '.join(needs)}; straight to {queue}")

        session, _ = await self._c.record(session.id, record)
        return CallStep(session)

    async def ivr_input(self, call_id: str, digits: str, speech_text: str) -> CallStep:
        if bool(digits) == bool(speech_text):
            raise InvalidArgument("send either digits (DTMF) or speech_text (recognised speech), not both or neither")
        if digits and not set(digits) <= DTMF_KEYS:
            raise InvalidArgument(f"digits {digits!r} may contain only 0-9, * and #")
        self._limit.check(speech_text, "speech_text")
        session = await self._repo.session_for_call(call_id)
        if digits == self._callback_digit and session.state in (State.QUEUED, State.OFFERED):
            # The caller waiting in the queue takes the callback offer: their own number, their place kept.
            return await self.request_callback(call_id, "", None)
        if session.state is not State.IVR:
            raise FailedPrecondition(f"call {call_id} has left the IVR (session {session.id} is "
                                     f"{session.state.value}); IVR input is no longer accepted")
        if digits:
            step = self._flow.press_keys(_path(session), digits)
        else:
            step = self._flow.understand(_path(session), self._classifier.classify(speech_text).intent)
        invalid = int(session.attributes.get("ivr_invalid", "0")) + int(step.invalid)
        step = self._flow.after_invalid(step, invalid)

        def record(current: Session) -> Message | None:
            if current.state is not State.IVR:
                raise FailedPrecondition(f"call {call_id} has just left the IVR; IVR input is no longer accepted")
            current.attributes["ivr_path"] = ">".join(step.path)
            current.attributes["ivr_invalid"] = str(invalid)
            if speech_text:
                current.note(self._classifier.classify(speech_text))
            if not step.queue:
                return None
            current.queue = step.queue
            current.intent = current.intent or step.intent
            labels = self._flow.labels(step.path)
            message = self._c.inbound(current, speech_text or f"IVR: {labels or step.label}")
            self._c.add(current, message)
            current.move(State.QUEUED, message.time, f"IVR chose queue {step.queue}")
            return message

        session, message = await self._c.record(session.id, record)
        return CallStep(session, step.prompt if message is None else "")

    async def answer(self, call_id: str, agent_id: str) -> CallStep:
        agent_id = require(agent_id, "agent_id")
        session = await self._repo.session_for_call(call_id)
        moved = await self._c.move(session.id, State.CONNECTED, reason="answered", agent_id=agent_id)
        return CallStep(moved.session)

    async def transfer(self, call_id: str, reason: str, target_queue: str, target_agent_id: str) -> CallStep:
        reason = require(reason, "reason (transfers always need one)")
        if bool(target_queue) == bool(target_agent_id):
            raise InvalidArgument("name exactly one of target_queue or target_agent_id")
        session = await self._repo.session_for_call(call_id)
        if session.state is not State.CONNECTED:
            raise FailedPrecondition(f"call {call_id} is {session.state.value}; only a connected call can be "
                                     "transferred")

        def retarget(current: Session) -> None:
            current.attributes["transfers"] = str(int(current.attributes.get("transfers", "0")) + 1)
            current.queue = target_queue or current.queue

        if target_queue:
            moved = await self._c.move(session.id, State.QUEUED, reason=f"transfer: {reason}", agent_id="",
                                       change=retarget)
        else:
            moved = await self._c.move(session.id, State.OFFERED, reason=f"transfer: {reason}",
                                       agent_id=target_agent_id, change=retarget)
        return CallStep(moved.session)

    async def end(self, call_id: str, abandoned: bool) -> CallStep:
        session = await self._repo.session_for_call(call_id)
        end = _end_of_call(session, abandoned)
        if end is None:
            return CallStep(session)
        if session.state is State.IVR:
            return CallStep(await self._ended_in_ivr(session.id, *end))

        def hang_up(current: Session) -> None:
            # Decided again on the session as written: an agent may have answered meanwhile
            # (routing's assignment arriving just before the hang-up), making it a wrap-up.
            now = _end_of_call(current, abandoned)
            if now is not None:
                current.move(now[0], utcnow(), now[1])

        recorded, _ = await self._c.record(session.id, hang_up)
        return CallStep(recorded)

    async def _ended_in_ivr(self, session_id: str, state: State, reason: str) -> Session:
        """A caller who hung up before reaching a queue is still a contact: one interaction,
        without a queue (no routing work), marked abandoned in the IVR, for the customer's ticket."""

        def hung_up(current: Session) -> None:
            if current.state is not State.IVR:
                raise FailedPrecondition(f"call of session {current.id} has just left the IVR; end it again")
            message = self._c.inbound(current, ivr_abandoned_text(self._flow.labels(_path(current))))
            message.abandoned_in_ivr = True
            self._c.add(current, message)
            current.move(state, message.time, reason)

        session, _ = await self._c.record(session_id, hung_up)
        return session

    async def attach_recording(self, call_id: str, recording_url: str, transcript: str) -> CallStep:
        if not recording_url and not transcript:
            raise InvalidArgument("send a recording_url, a transcript or both")
        check_length(recording_url, "recording_url", 2000)
        session = await self._repo.session_for_call(call_id)

        def attach(current: Session) -> None:
            if recording_url:
                current.attributes["recording_url"] = recording_url
            if transcript:
                current.attributes["transcript"] = transcript[: self._limit.max_chars * 10]

        session, _ = await self._repo.mutate(session.id, attach)
        return CallStep(session)

    async def supervise(self, principal: Principal, session_id: str, mode: CallLegMode,
                        request_id: str) -> CallLegCommand:
        """A supervisor's leg on a connected call: recorded as a note, sent to the PBX adapter as
        `call_leg_requested`; once per request_id."""
        session = await self._repo.get(require(session_id, "session_id"))
        check_supervising(principal, session)
        note = leg_note(session, mode, principal.subject, check_length(request_id, "request_id", 200), utcnow())

        def asked(current: Session, stored: Note) -> list[Document]:
            # A retry finds the note of the first request, whose command went out then.
            return [self._events.call_leg_requested(command_of(current, stored, mode))] if stored is note else []

        session, stored = await self._c.record(session.id, lambda current: current.add_note(note, self._max_notes),
                                               events=asked)
        return command_of(session, stored, mode)

    async def request_callback(self, call_id: str, number: str, not_before: dt.datetime | None) -> CallStep:
        session = await self._repo.session_for_call(call_id)
        return CallStep(await self._outbound.book(session.id, number, not_before, verified_only=False))


def _end_of_call(session: Session, abandoned: bool) -> tuple[State, str] | None:
    """What hanging up makes of the call's session now; None: nothing (over already, or waiting
    for the callback the caller asked for, which keeps its place in the queue)."""
    if session.terminal:
        return None
    if session.state in (State.CONNECTED, State.WRAP_UP):
        return State.WRAP_UP, "call ended"
    if session.attributes.get("callback_number"):
        return None
    if abandoned or session.state in (State.QUEUED, State.OFFERED):
        return State.ABANDONED, "caller hung up before an agent answered"
    return State.ENDED, "caller finished in the IVR"


def _path(session: Session) -> tuple[str, ...]:
    raw = session.attributes.get("ivr_path", "")
    return tuple(raw.split(">")) if raw else ()

