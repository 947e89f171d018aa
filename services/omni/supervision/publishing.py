"""Supervision's facts on the bus: an alert raised, an alert acknowledged (domain "supervision",
subject "alerts/{id}"). Made as outbox entries stored with the alert, published after the write."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence

from omni.runtime.events import SUBJECT_ROOT, EventBus, unpack
from omni.runtime.live_feed import LiveFeed
from omni.runtime.outbox import Outbox
from omni.runtime.storage import Document
from omni.supervision import convert
from omni.supervision.domain.alerts import Alert
from omnichannel.common.v1.event_pb2 import EventEnvelope
from omnichannel.supervision.v1 import events_pb2

DOMAIN = "supervision"
RAISED = "alert_raised"
ACKNOWLEDGED = "alert_acknowledged"
PAYLOADS = {RAISED: events_pb2.AlertEvent, ACKNOWLEDGED: events_pb2.AlertEvent}


# What a watcher is told: ("raised" | "acknowledged", the alert); None when it fell behind.
AlertChange = tuple[str, Alert]


class AlertEvents:
    def __init__(self, outbox: Outbox, bus: EventBus) -> None:
        self._outbox = outbox
        # Every alert event as it is published (a plain subscription to the stream's subjects).
        self._feed = LiveFeed(bus.nc, f"{SUBJECT_ROOT}.{DOMAIN}", EventEnvelope.FromString)

    def raised(self, alert: Alert) -> Document:
        return self._entry(RAISED, alert)

    def acknowledged(self, alert: Alert) -> Document:
        return self._entry(ACKNOWLEDGED, alert)

    def _entry(self, event_type: str, alert: Alert) -> Document:
        return self._outbox.entry(event_type, f"alerts/{alert.id}", f"{alert.id}:{event_type}",
                                  events_pb2.AlertEvent(alert=convert.alert_to_proto(alert)))

    async def publish(self, alert: Alert, entries: Sequence[Document]) -> None:
        if entries:
            await self._outbox.publish(alert.id, entries)

    @contextlib.asynccontextmanager
    async def watch(self) -> AsyncIterator[AsyncIterator[AlertChange | None]]:
        """The alerts raised and acknowledged from now on (on any replica)."""
        async with self._feed.watch() as queue:
            async def changes() -> AsyncIterator[AlertChange | None]:
                while True:
                    envelope = await queue.get()
                    if envelope is None:
                        yield None
                        continue
                    if envelope.type in PAYLOADS:
                        alert = convert.alert_from_proto(unpack(envelope, events_pb2.AlertEvent).alert)
                        yield ("raised" if envelope.type == RAISED else "acknowledged", alert)

            yield changes()
