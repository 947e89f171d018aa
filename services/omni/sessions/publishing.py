"""What sessions tells others: the facts it publishes (interaction_received, session_state_changed,
callback_requested, and the outbound calls of callbacks: outbound_call_requested, a command for
the PBX adapter, and outbound_call_finished) and the live updates of each conversation for its watchers."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt

from omni.runtime.events import EventBus
from omni.runtime.live_feed import LiveFeed
from omni.runtime.outbox import Outbox
from omni.runtime.storage import Document
from omni.sessions import convert
from omni.sessions.domain.changes import Change
from omni.sessions.domain.model import Message, Session, State
from omni.sessions.domain.outbound_calls import CallResult, OutboundCall
from omni.sessions.domain.updates import Update
from omnichannel.sessions.v1 import events_pb2, sessions_pb2

DOMAIN = "sessions"
PAYLOADS = {
    "interaction_received": events_pb2.InteractionReceived,
    "session_state_changed": events_pb2.SessionStateChanged,
    "callback_requested": events_pb2.CallbackRequested,
    "outbound_call_requested": events_pb2.OutboundCallRequested,
    "outbound_call_finished": events_pb2.OutboundCallFinished,
}
# Conversation updates for watchers, outside every JetStream stream's subjects on purpose.
LIVE_SUBJECT_ROOT = "omnichannel_live.sessions"


class SessionEvents:
    """The events of a session's changes, as outbox entries stored with the change (`outbox`),
    then published: each carries one change, never the conversation."""

    def __init__(self, outbox: Outbox) -> None:
        self._outbox = outbox

    def of_change(self, session: Session, change: Change) -> list[Document]:
        entries = [self._interaction_received(session, message) for message in change.messages]
        if change.previous is not None:
            entries.append(self._state_changed(session, change.previous))
        return entries

    def _interaction_received(self, session: Session, message: Message) -> Document:
        # Event id = interaction id: a re-ingested email dedupes.
        payload = events_pb2.InteractionReceived(interaction=convert.interaction(session, message))
        return self._outbox.entry("interaction_received", f"sessions/{session.id}", message.id, payload)

    def _state_changed(self, session: Session, previous: State) -> Document:
        payload = events_pb2.SessionStateChanged(
            session=convert.session_to_proto(session.without_transcript()), previous_state=convert.STATES[previous],
            reason=session.transitions[-1].reason, answered=session.answered,
        )
        # One id per transition.
        event_id = f"{session.id}:state:{len(session.transitions)}:{session.state.value}"
        return self._outbox.entry("session_state_changed", f"sessions/{session.id}", event_id, payload)

    def callback_requested(self, session: Session, number: str, not_before: dt.datetime | None) -> Document:
        payload = events_pb2.CallbackRequested(
            session_id=session.id, number=number, queue=session.queue, customer=convert.customer_ref(session),
            number_verified=session.attributes.get("callback_verified") == "1",
        )
        if not_before is not None:
            payload.not_before.FromDatetime(not_before)
        return self._outbox.entry("callback_requested", f"sessions/{session.id}", payload=payload,
                                  event_id=f"{session.id}:callback:{session.attributes.get('callbacks', '1')}")

    def outbound_call_requested(self, session: Session, call: OutboundCall) -> Document:
        payload = events_pb2.OutboundCallRequested(
            call_id=call.call_id, session_id=session.id, number=call.number, number_verified=call.verified,
            agent_id=call.agent_id, queue=call.queue, attempt=call.attempt, caller_id=call.caller_id,
            customer=convert.customer_ref(session))
        return self._outbox.entry("outbound_call_requested", f"sessions/{session.id}", call.call_id, payload)

    def outbound_call_finished(self, session: Session, call: OutboundCall, result: CallResult) -> Document:
        payload = events_pb2.OutboundCallFinished(
            call_id=call.call_id, session_id=session.id, result=convert.CALL_RESULTS[result], attempt=call.attempt,
            agent_id=call.agent_id, queue=call.queue, number=call.number)
        return self._outbox.entry("outbound_call_finished", f"sessions/{session.id}", f"{call.call_id}:finished",
                                  payload)

    async def publish(self, session_id: str, pending: list[Document]) -> None:
        """The session's pending events, in the order they were stored."""
        await self._outbox.publish(session_id, pending)


def _read_update(body: bytes) -> Update:
    return convert.update_from_proto(sessions_pb2.SessionUpdate.FromString(body))


class LiveUpdates:
    """Each conversation's updates on `omnichannel_live.sessions.<session id>` as `SessionUpdate`
    messages, so a watcher connected to one replica sees what another replica published."""

    def __init__(self, bus: EventBus) -> None:
        self._feed = LiveFeed(bus.nc, LIVE_SUBJECT_ROOT, _read_update)

    async def show(self, session_id: str, update: Update) -> None:
        await self._feed.publish(session_id, convert.update_to_proto(update).SerializeToString())

    def watch(self, session_id: str) -> contextlib.AbstractAsyncContextManager[asyncio.Queue[Update | None]]:
        """The session's updates from now on; None when the watcher fell too far behind."""
        return self._feed.watch(session_id)
