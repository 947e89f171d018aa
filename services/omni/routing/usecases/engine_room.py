"""The engine in the service: one lock around it, and after every change the changed state
written to MongoDB, the facts published and the desktops told.

Only the use cases of this package hold the room; every change of routing state goes through
`change()` or `run()`, so it runs alone and is persisted before the next one starts. Reads need
no lock: the engine is only touched from the event loop, between awaits.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from typing import TypeVar

from omni.routing.domain.engine import RoutingEngine
from omni.routing.domain.stats import RETENTION_SECONDS
from omni.routing.publishing import Publisher
from omni.routing.repository import RoutingRepository
from omni.routing.usecases.desktops import Desktops

log = logging.getLogger("omni.routing")
T = TypeVar("T")


class EngineRoom:
    def __init__(self, engine: RoutingEngine, repository: RoutingRepository, publisher: Publisher,
                 desktops: Desktops, *, desktop_grace: float, timer_resolution: float) -> None:
        self._engine = engine
        self._repository = repository
        self._publisher = publisher
        self._desktops = desktops
        self._desktop_grace = desktop_grace
        self._resolution = timer_resolution
        self._lock = asyncio.Lock()
        self._moved = asyncio.Event()

    @property
    def engine(self) -> RoutingEngine:
        """For reading; change it only inside `change()` / `run()`."""
        return self._engine

    async def load(self) -> None:
        """Rebuild the engine from MongoDB: queues, agents, then live work in arrival order."""
        engine = self._engine
        async with self.change():
            for queue in await self._repository.queues():
                engine.put_queue(queue)
            for agent in await self._repository.agents():
                engine.put_agent(agent)
            for work in await self._repository.finished_since(engine.clock() - RETENTION_SECONDS):
                engine.restore_history(work)
            for work in await self._repository.live_work():
                engine.restore(work)
            # No desktop survived the restart: agents who do not reconnect go offline after the grace.
            for agent in engine.agents():
                if agent.logged_in:
                    engine.agent_disconnected(agent.id, self._desktop_grace)
            engine.tick()
        log.info("routing state loaded: %d queues, %d agents, %d live work items",
                 sum(1 for _ in engine.queues()), sum(1 for _ in engine.agents()), sum(1 for _ in engine.live()))

    @contextlib.asynccontextmanager
    async def change(self) -> AsyncIterator[RoutingEngine]:
        """Hold the engine alone; on leaving (also by an error), persist and publish what changed."""
        async with self._lock:
            try:
                yield self._engine
            finally:
                await self._flush()

    async def run(self, change: Callable[[RoutingEngine], T]) -> T:
        """Apply one synchronous change to the engine (see `change()`)."""
        async with self.change() as engine:
            return change(engine)

    async def timer(self) -> None:
        """Run `tick` whenever a deadline (offer timeout, hold, lost desktop) is due."""
        engine = self._engine
        while True:
            due = engine.next_deadline()
            now = engine.clock()
            if due is not None and due <= now:
                try:
                    await self.run(RoutingEngine.tick)
                except Exception:
                    log.exception("routing tick failed")
                continue
            await asyncio.sleep(self._resolution if due is None else min(self._resolution, due - now))

    async def moved(self, patience: float) -> None:
        """Wait until the queues change (for long polls), at most `patience` seconds."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._moved.wait(), patience)

    async def _flush(self) -> None:
        changes = self._engine.drain()
        if not (changes.notices or changes.work or changes.agents):
            return
        await self._repository.save(changes.work, changes.agents)
        for notice in changes.notices:
            self._desktops.deliver(notice)
            try:
                await self._publisher.publish(notice)
            except Exception:
                log.exception("could not publish %s", notice.kind)
        self._desktops.forget_finished(changes.work)
        self._moved.set()
        self._moved = asyncio.Event()
