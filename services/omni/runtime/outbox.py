"""A transactional outbox: the events a change makes are stored in the same write as the change,
in the changed document itself (field `outbox`), and removed from it once published.

Why in the document: a single-document write is atomic without a transaction, so the change and
its events are stored together or not at all, and a process killed between that write and the
publish leaves its events behind instead of losing them. Whoever wrote them publishes them right
after the write; a relay (`Outbox.relay`, one per replica) publishes whatever stayed behind (NATS
was down, the process died) once it is `grace` seconds old. Both publish a document's pending
events in their stored order, under their stored ids, so JetStream drops the duplicates a race
between them makes and every event reaches the stream after the ones stored before it.

An event the server can never take (over its payload limit) is a permanent error: `entry` refuses
to build it (`EventTooLarge`), and one that became too large later (the limit was lowered) is
moved to `outbox_failed` with a log line instead of being retried for ever.

Entries are plain documents, `{"id", "type", "subject", "payload", "at"}`: the layout the tickets
service already keeps with its interactions.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging
from collections.abc import Mapping, Sequence
from typing import Any

import nats.errors
from google.protobuf.message import Message
from pymongo import ASCENDING, IndexModel
from pymongo.asynchronous.collection import AsyncCollection

from omni.runtime.clock import utcnow
from omni.runtime.errors import InvalidArgument
from omni.runtime.events import EventBus, PermanentError
from omni.runtime.storage import Document

log = logging.getLogger("omni.outbox")

FIELD = "outbox"
FAILED_FIELD = "outbox_failed"
# The relay finds documents with pending events through this index (declare it with the collection's).
INDEX = IndexModel([(f"{FIELD}.at", ASCENDING)], name="outbox_due")
# Room left in a NATS message for the envelope around the payload (ids, type, subject, producer,
# time) and the headers (message id, trace context); every one of those is short and bounded.
ENVELOPE_ROOM = 8 * 1024


class EventTooLarge(PermanentError, InvalidArgument):
    """The event is larger than the NATS server takes: retrying cannot help. A consumer dead-letters
    it (PermanentError); a caller is told its request cannot be carried out (INVALID_ARGUMENT)."""


@dataclasses.dataclass(eq=False)
class _Removals:
    """Published entries to remove in one write: their documents and their event ids."""

    keys: set[Any] = dataclasses.field(default_factory=set)
    event_ids: set[str] = dataclasses.field(default_factory=set)
    writer: asyncio.Task[None] | None = None


class Outbox:
    """The events of one domain kept in the documents of `collection` until published.

    `payloads`: event type → protobuf message type, to read a stored payload back.
    """

    def __init__(self, collection: AsyncCollection[Document], bus: EventBus, domain: str,
                 payloads: Mapping[str, type[Message]]) -> None:
        self._collection = collection
        self._bus = bus
        self._domain = domain
        self._payloads = dict(payloads)
        # Removals of published entries gather here while the one before them is written.
        self._gathering: _Removals | None = None
        self._writing = asyncio.Lock()

    @property
    def max_payload_bytes(self) -> int:
        """The largest event payload the connected server takes."""
        return int(self._bus.nc.max_payload) - ENVELOPE_ROOM

    def entry(self, event_type: str, subject: str, event_id: str, payload: Message) -> Document:
        """One event to store with a change; EventTooLarge when the server could never take it."""
        if event_type not in self._payloads:
            raise ValueError(f"{self._domain} has no payload type for {event_type!r} events")
        data = payload.SerializeToString()
        if len(data) > self.max_payload_bytes:
            raise EventTooLarge(
                f"the {event_type} event {event_id} would be {len(data)} bytes; the event bus takes "
                f"{self.max_payload_bytes}, so it cannot be published")
        return {"id": event_id, "type": event_type, "subject": subject, "payload": data, "at": utcnow()}

    async def publish(self, key: object, entries: Sequence[Document]) -> None:
        """Publish the pending `entries` of the document `_id == key`, in order, and remove them from
        it. Raises what publishing raised, after removing the ones published before it."""
        published: list[str] = []
        try:
            for entry in entries:
                try:
                    await self._publish(entry)
                except nats.errors.MaxPayloadError:
                    await self._give_up(key, entry)
                    continue
                published.append(entry["id"])
        finally:
            if published:
                await self._remove(key, published)

    async def _remove(self, key: object, event_ids: list[str]) -> None:
        """Remove published entries from their document. Removals asked for while another is
        being written wait for it and then go together in one write: a burst of changes (a
        hundred chat messages at once) costs the store one write for all their removals, not one
        each, and the caller still returns only once its entries are gone."""
        removals = self._gathering
        if removals is None:
            removals = self._gathering = _Removals()
            removals.writer = asyncio.create_task(self._write_removals(removals),
                                                  name=f"{self._domain} outbox removals")
        removals.keys.add(key)
        removals.event_ids.update(event_ids)
        assert removals.writer is not None
        await asyncio.shield(removals.writer)

    async def _write_removals(self, removals: _Removals) -> None:
        async with self._writing:
            if self._gathering is removals:
                self._gathering = None  # later removals gather for the next write
            # Event ids are unique, so pulling all of them from every document removes each
            # document's own and nothing else.
            await self._collection.update_many({"_id": {"$in": list(removals.keys)}},
                                               {"$pull": {FIELD: {"id": {"$in": sorted(removals.event_ids)}}}})

    async def _publish(self, entry: Document) -> None:
        event_type = entry["type"]
        payload = self._payloads[event_type].FromString(bytes(entry["payload"]))
        await self._bus.publish(self._domain, event_type, entry["subject"], payload, event_id=entry["id"])

    async def _give_up(self, key: object, entry: Document) -> None:
        log.error("%s event %s (%s, %d bytes) is over the event bus's payload limit and will never be published; "
                  "kept in %s of %s", self._domain, entry["id"], entry["type"], len(entry["payload"]), FAILED_FIELD,
                  key)
        await self._collection.update_one({"_id": key}, {"$pull": {FIELD: {"id": entry["id"]}},
                                                         "$push": {FAILED_FIELD: entry}})

    async def relay_once(self, grace: float, batch: int = 100) -> int:
        """Publish the events left pending for more than `grace` seconds, `batch` documents at a
        time until none is left; how many documents had some."""
        due = utcnow() - dt.timedelta(seconds=grace)
        relayed = 0
        while True:
            documents = await self._collection.find({f"{FIELD}.at": {"$lte": due}}, {FIELD: 1}).limit(batch).to_list()
            for doc in documents:
                await self.publish(doc["_id"], doc.get(FIELD, []))
            relayed += len(documents)
            if len(documents) < batch:
                return relayed

    async def relay(self, *, interval: float, grace: float) -> None:
        """Run `relay_once` every `interval` seconds until cancelled. A failure (NATS or MongoDB
        down) is logged once per outage and tried again at the next round."""
        failing = False
        while True:
            try:
                relayed = await self.relay_once(grace)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if not failing:
                    log.warning("%s outbox relay cannot publish yet (%s: %s); retrying every %.1fs",
                                self._domain, type(exc).__name__, exc, interval)
                failing = True
            else:
                if failing or relayed:
                    log.info("%s outbox relay published the pending events of %d document(s)", self._domain, relayed)
                failing = False
            await asyncio.sleep(interval)


__all__ = ["FAILED_FIELD", "FIELD", "INDEX", "EventTooLarge", "Outbox"]
