"""Publishes the outbox: events written with their change go out after the write, in the
order they were made, and are taken off their documents once the bus has them. When the bus is
down they wait (in their documents and here) and go out when it is back; nothing is lost, a
repeat is dropped by the bus (same event id)."""

from __future__ import annotations

import asyncio
import collections
import logging
from collections.abc import Iterable

from omni.routing.domain.outbox import OutboxEntry
from omni.routing.publishing import Publisher
from omni.routing.repository import RoutingRepository

log = logging.getLogger("omni.routing")
# Waits between attempts while the bus refuses: short at first, then at most a few seconds.
BACKOFF = (0.05, 0.2, 0.5, 1.0, 2.0)


class EventRelay:
    def __init__(self, repository: RoutingRepository, publisher: Publisher) -> None:
        self._repository = repository
        self._publisher = publisher
        self._queue: collections.deque[OutboxEntry] = collections.deque()
        # Not yet published, by the subject (document) they are kept in: written again with it.
        self._unpublished: dict[str, list[OutboxEntry]] = {}
        self._waiting = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()

    def outbox(self, entries: Iterable[OutboxEntry]) -> dict[str, list[OutboxEntry]]:
        """What each document's outbox holds once `entries` are added: those still unpublished too."""
        found = {subject: list(waiting) for subject, waiting in self._unpublished.items()}
        for entry in entries:
            found.setdefault(entry.subject, []).append(entry)
        return found

    def push(self, entries: Iterable[OutboxEntry]) -> None:
        for entry in entries:
            self._queue.append(entry)
            self._unpublished.setdefault(entry.subject, []).append(entry)
        if self._queue:
            self._idle.clear()
            self._waiting.set()

    async def drained(self) -> None:
        """Wait until everything pushed so far is published."""
        await self._idle.wait()

    async def run(self) -> None:
        failures = 0
        while True:
            await self._waiting.wait()
            published: list[OutboxEntry] = []
            try:
                while self._queue:
                    entry = self._queue[0]
                    await self._publisher.publish(entry)
                    self._queue.popleft()
                    self._forget(entry)
                    published.append(entry)
                failures = 0
            except Exception as exc:
                delay = BACKOFF[min(failures, len(BACKOFF) - 1)]
                failures += 1
                log.warning("publishing routing events failed (%d waiting), retrying in %.2fs: %s",
                            len(self._queue), delay, exc)
                await asyncio.sleep(delay)
            try:
                await self._repository.published(published)
            except Exception:
                # Still in their documents: published again by a later owner, dropped as a repeat by the bus.
                log.exception("could not take %d published events off their documents", len(published))
            if not self._queue:
                self._waiting.clear()
                self._idle.set()

    def _forget(self, entry: OutboxEntry) -> None:
        waiting = self._unpublished.get(entry.subject)
        if waiting is not None:
            waiting[:] = [e for e in waiting if e is not entry]
            if not waiting:
                del self._unpublished[entry.subject]
