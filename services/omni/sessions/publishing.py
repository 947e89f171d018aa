"""What sessions tells others: the facts it publishes (interaction_received, session_state_changed,
callback_requested) and the live updates of each conversation for its watchers."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt

from omni.runtime.events import EventBus
from omni.runtime.live_feed import LiveFeed
from omni.sessions import convert
from omni.sessions.domain.model import Message, Session, State
from omni.sessions.domain.updates import Update
from omnichannel.sessions.v1 import events_pb2, sessions_pb2

DOMAIN = "sessions"
# Conversation updates for watchers, outside every JetStream stream's subjects on purpose.
LIVE_SUBJECT_ROOT = "omnichannel_live.sessions"


class SessionEvents:
    def __init__(self, bus: EventBus) -> None:
        self._bus = bus

    async def interaction_received(self, session: Session, message: Message) -> None:
        # Event id = interaction id: a retried publish (or a re-ingested email) dedupes.
        payload = events_pb2.InteractionReceived(interaction=convert.interaction(session, message))
        await self._bus.publish(DOMAIN, "interaction_received", f"sessions/{session.id}", payload,
                                event_id=message.id)

    async def state_changed(self, session: Session, previous: State, reason: str) -> None:
        payload = events_pb2.SessionStateChanged(
            session=convert.session_to_proto(session), previous_state=convert.STATES[previous], reason=reason
        )
        # One id per transition, so re-publishing the same transition dedupes.
        event_id = f"{session.id}:state:{len(session.transitions)}:{session.state.value}"
        await self._bus.publish(DOMAIN, "session_state_changed", f"sessions/{session.id}", payload,
                                event_id=event_id)

    async def callback_requested(self, session: Session, number: str, not_before: dt.datetime | None) -> None:
        payload = events_pb2.CallbackRequested(
            session_id=session.id, number=number, queue=session.queue, customer=convert.customer_ref(session)
        )
        if not_before is not None:
            payload.not_before.FromDatetime(not_before)
        await self._bus.publish(DOMAIN, "callback_requested", f"sessions/{session.id}", payload,
                                event_id=f"{session.id}:callback:{session.attributes.get('callbacks', '1')}")


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
