"""Events sessions consumes: tickets tells it a session's ticket and customer; routing moves
the session through offered → connected → ended, and a self-service bot's handoff becomes a note."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterable, Iterator

from omni.runtime.errors import NotFound
from omni.runtime.events import Delivery, PermanentError, unpack
from omni.sessions.domain.assignment import CALLBACK_SMS
from omni.sessions.usecases.assignment import Assignment
from omni.sessions.usecases.conversations import Conversations
from omni.sessions.usecases.outbound_calls import OutboundCalls
from omni.sessions.usecases.sms import SmsChannel
from omni.sessions.usecases.surveys import Surveys
from omnichannel.common.v1.event_pb2 import EventEnvelope
from omnichannel.routing.v1.events_pb2 import WorkEvent
from omnichannel.sessions.v1.events_pb2 import SessionStateChanged
from omnichannel.sessions.v1.sessions_pb2 import SESSION_STATE_ENDED
from omnichannel.tickets.v1.events_pb2 import InteractionThreaded

TICKET_EVENTS = ("interaction_threaded",)
SESSION_EVENTS = ("session_state_changed",)


def session_keys(envelope: EventEnvelope) -> Iterable[str]:
    """The session an event is about: its events are applied in order, other sessions' alongside."""
    if envelope.type in TICKET_EVENTS:
        return (unpack(envelope, InteractionThreaded).session_id,)
    work = unpack(envelope, WorkEvent).work
    return (work.session_id or work.id,)


class SessionConsumers:
    def __init__(self, conversations: Conversations, assignment: Assignment, outbound: OutboundCalls,
                 surveys: Surveys, sms: SmsChannel | None = None) -> None:
        self._c = conversations
        self._sms = sms
        self._assignment = assignment
        self._outbound = outbound
        self._surveys = surveys

    async def on_session_event(self, delivery: Delivery) -> None:
        changed = unpack(delivery.envelope, SessionStateChanged)
        if changed.session.state == SESSION_STATE_ENDED:
            with _known_session():
                await self._surveys.contact_ended(changed.session.id)

    async def on_ticket_event(self, delivery: Delivery) -> None:
        threaded = unpack(delivery.envelope, InteractionThreaded)
        if not threaded.session_id:
            raise PermanentError(f"interaction_threaded {delivery.envelope.id} has no session_id")
        with _known_session():
            await self._c.link_ticket(threaded.session_id, threaded.ticket_id, threaded.customer_id)
            await self._outbound.customer_contacted(threaded.session_id, threaded.interaction_id, threaded.customer_id)

    async def on_work_event(self, delivery: Delivery) -> None:
        event_type = delivery.envelope.type
        if not (self._assignment.follows(event_type) or event_type == CALLBACK_SMS):
            return
        event = unpack(delivery.envelope, WorkEvent)
        if event.work.HasField("follow_up"):
            return  # an agent's task about the contact (docs/outbound.md), not the contact's own work
        session_id = event.work.session_id or event.work.id
        if not session_id:
            raise PermanentError(f"{event_type} {delivery.envelope.id} names no session")
        if event_type == CALLBACK_SMS:
            if self._sms is not None and event.work.callback_number:
                with _known_session():
                    await self._sms.remind_callback(
                        session_id, event.work.callback_number, event.work.language, delivery.envelope.id,
                        not_before=event.not_before.ToDatetime(dt.UTC) if event.HasField("not_before") else None)
            return
        with _known_session():
            await self._assignment.routed(
                session_id, event_type, agent_id=event.agent_id,
                work_agent_id=event.work.assigned_agent_id or event.work.offered_agent_id, reason=event.reason,
                work_queue=event.work.queue_id, bot_handoff=_bot_handoff_reason(event), event_id=delivery.envelope.id,
                callback=(event.work.callback_number, event.work.callback_number_verified),
                vip=event.work.vip, estimated_wait_seconds=event.work.estimated_wait.ToTimedelta().total_seconds(),
                fence=(event.partition, event.epoch), agent_name=event.agent_display_name)


@contextlib.contextmanager
def _known_session() -> Iterator[None]:
    """An event about a session that does not exist can never apply: dead-letter it."""
    try:
        yield
    except NotFound as exc:
        raise PermanentError(exc.message) from exc


def _bot_handoff_reason(event: WorkEvent) -> str | None:
    """The bot's reason when the work's latest reason is a self-service bot handing the customer to a person."""
    reasons = event.work.reasons
    # Routing's handoff ends the reasons with bot_handoff; an agent's transfer starts them afresh with
    # "transfer", so an earlier handoff of the same work does not count again.
    if reasons and reasons[-1].code == "bot_handoff":
        return reasons[-1].detail or event.reason
    return None
