"""The live floor: routing's view read once per refresh for every watcher of this replica, the
agents' day figures, each watcher's share of it pushed when it changes."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import AsyncGenerator

from omni.runtime.auth import Principal
from omni.runtime.clock import utcnow
from omni.supervision.domain import access
from omni.supervision.domain.floor import Floor, RoutingView, floor
from omni.supervision.repository import SupervisionRepository
from omni.supervision.routing_reader import RoutingReader
from omni.supervision.usecases.watchers import WatchSlots


class FloorRoom:
    def __init__(self, reader: RoutingReader, repo: SupervisionRepository, refresh: float,
                 slots: WatchSlots) -> None:
        self._reader = reader
        self._repo = repo
        self._refresh = refresh
        self._slots = slots
        self._view: RoutingView | None = None
        self._read_at = 0.0
        self._lock = asyncio.Lock()

    async def view(self) -> RoutingView:
        """Routing's view, at most `refresh` seconds old. When routing cannot be read, the last
        view it gave, marked degraded."""
        async with self._lock:
            if self._view is None or time.monotonic() - self._read_at >= self._refresh:
                fresh = await self._reader.read()
                if fresh.degraded and self._view is not None:
                    fresh = dataclasses.replace(self._view, degraded=fresh.degraded)
                self._view, self._read_at = fresh, time.monotonic()
            return self._view

    async def sight(self, principal: Principal) -> access.Sight:
        access.sight(principal, {})  # refuse who sees nothing before asking routing anything
        return access.sight(principal, (await self.view()).queue_groups())

    async def current(self, principal: Principal) -> Floor:
        view = await self.view()
        seen = access.sight(principal, view.queue_groups())
        days = await self._repo.agent_days(utcnow().date())
        return floor(view, days, seen)

    async def watch(self, principal: Principal) -> AsyncGenerator[Floor]:
        """The floor now, then each time it differs from the last one sent."""
        last: Floor | None = None
        with self._slots.taken():
            while True:
                now = await self.current(principal)
                if last is None or dataclasses.replace(now, as_of=None) != dataclasses.replace(last, as_of=None):
                    last = now
                    yield now
                await asyncio.sleep(self._refresh)
