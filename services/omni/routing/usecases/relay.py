"""Publishes the outbox: events written with their change go out after the commit, in the
order they were made, and are deleted once the bus has them. When the bus is down they wait
(in MongoDB and here) and go out when it is back; nothing is lost, a repeat is dropped by the
bus (same event id)."""

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
        self._waiting = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()

    def push(self, entries: Iterable[OutboxEntry]) -> None:
        self._queue.extend(entries)
        if self._queue:
            self._idle.clear()
            self._waiting.set()

    async def resume(self, partition: str) -> None:
        """Queue what a former owner of the partition committed but did not publish."""
        pending = await self._repository.pending_events(partition)
        if pending:
            log.info("publishing %d events of partition %s left by its former owner", len(pending), partition)
        self.push(pending)

    async def drained(self) -> None:
        """Wait until everything pushed so far is published."""
        await self._idle.wait()

    async def run(self) -> None:
        failures = 0
        while True:
            await self._waiting.wait()
            batch = list(self._queue)
            published: list[OutboxEntry] = []
            try:
                for entry in batch:
                    await self._publisher.publish(entry)
                    published.append(entry)
                    self._queue.popleft()
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
                # Still in the outbox: published again by a later owner, dropped as a repeat by the bus.
                log.exception("could not delete %d published events from the outbox", len(published))
            if not self._queue:
                self._waiting.clear()
                self._idle.set()
