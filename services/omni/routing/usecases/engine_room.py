"""The engine in the service: one lock around it, and after every change the changed state
written to MongoDB with its events (the outbox), fenced by the partitions' lease epochs, then
the events published and the desktops told.

Only the use cases of this package hold the room; every change of routing state goes through
`change()` or `run()`, so it runs alone and is persisted before the next one starts. Reads need
no lock: the engine is only touched from the event loop, between awaits.

The engine holds the partitions this replica owns. Taking a partition loads it into the engine
(`adopt`, the same code a restart runs); giving one up or losing it builds the engine afresh
from storage for the partitions still held (`rebuild`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Collection, Sequence
from dataclasses import dataclass
from typing import TypeVar

from omni.routing import publishing
from omni.routing.domain.agents import Agent
from omni.routing.domain.engine import RoutingEngine
from omni.routing.domain.journal import Notice
from omni.routing.domain.outbox import OutboxEntry
from omni.routing.domain.queues import QueueConfig
from omni.routing.domain.stats import RETENTION_SECONDS
from omni.routing.domain.work import FINISHED_STATES, Work
from omni.routing.repository import Fenced, RoutingRepository
from omni.routing.usecases.claims import Claims
from omni.routing.usecases.desktops import Desktops
from omni.routing.usecases.relay import EventRelay
from omni.runtime.errors import NotFound, Unavailable

log = logging.getLogger("omni.routing")
T = TypeVar("T")


@dataclass(frozen=True)
class Loaded:
    """Queues, agents and their work as storage holds them, read before the engine takes them."""

    queues: Sequence[QueueConfig] = ()
    agents: Sequence[Agent] = ()
    finished: Sequence[Work] = ()
    live: Sequence[Work] = ()


class EngineRoom:
    def __init__(self, new_engine: Callable[[], RoutingEngine], repository: RoutingRepository, relay: EventRelay,
                 desktops: Desktops, claims: Claims, *, desktop_grace: float, timer_resolution: float) -> None:
        self._new_engine = new_engine
        self._repository = repository
        self._relay = relay
        self._desktops = desktops
        self.claims = claims
        self._engine = self._fresh_engine()
        self._desktop_grace = desktop_grace
        self._resolution = timer_resolution
        self._lock = asyncio.Lock()
        self._moved = asyncio.Event()
        # Set when a write was refused: the engine is ahead of storage and must be built afresh.
        self.stale = asyncio.Event()

    def _fresh_engine(self) -> RoutingEngine:
        engine = self._new_engine()
        # Overflow to a queue of a partition another replica owns hands the work to it.
        engine.routed_elsewhere = lambda queue_id: (self.claims.layout.of_queue(queue_id) is not None
                                                    and not self.claims.owns_queue(queue_id))
        return engine

    @property
    def engine(self) -> RoutingEngine:
        """For reading; change it only inside `change()` / `run()`."""
        return self._engine

    @property
    def lock(self) -> asyncio.Lock:
        return self._lock

    async def adopt(self, queue_ids: Collection[str], agent_ids: Collection[str], epoch: int | None = None) -> None:
        """Load queues and agents (and the queues' work) from MongoDB into the engine: queues,
        agents, the last day of finished work, then live work in arrival order. With the `epoch`
        of a partition just taken: first stamp its documents with it (fencing the former owner
        off) and queue the events the former owner wrote but did not publish."""
        async with self.change() as engine:
            if epoch is not None:
                await self._repository.claim(queue_ids, agent_ids, epoch)
                self._relay.push(await self._repository.unpublished(queue_ids, agent_ids))
            await self._load(engine, queue_ids, agent_ids)

    async def take_strays(self, queue_ids: Collection[str], epoch: int) -> None:
        """Live work a former owner added after the partition was taken (it did not know yet)."""
        strays = await self._repository.strays(queue_ids, epoch)
        if not strays:
            return
        async with self.change() as engine:
            for work in strays:
                if engine.live_work(work.id) is None and engine.has_queue(work.queue_id):
                    log.warning("work %s was added by a former owner of its partition; taking it over", work.id)
                    engine.restore(work)
                    engine.add_reasons(work.id, [])  # noted as changed: written again under our epoch
            engine.tick()

    async def rebuild(self, queue_ids: Collection[str], agent_ids: Collection[str]) -> None:
        """Replace the engine by one loaded with only these queues and agents (held with the lock).
        Storage is read before the swap, so a reader never meets a half-loaded engine (a queue
        this replica still owns answered as missing)."""
        assert self._lock.locked()
        fresh = self._fresh_engine()
        loaded = await self._read(fresh, queue_ids, agent_ids)
        self._engine.drain()
        self._engine = fresh
        try:
            self._apply(fresh, loaded)
        finally:
            await self._flush()
        self.stale.clear()

    async def _load(self, engine: RoutingEngine, queue_ids: Collection[str], agent_ids: Collection[str]) -> None:
        self._apply(engine, await self._read(engine, queue_ids, agent_ids))

    async def _read(self, engine: RoutingEngine, queue_ids: Collection[str], agent_ids: Collection[str]) -> Loaded:
        """What storage holds of the queues and agents the engine does not know yet."""
        known = {q.id for q in engine.queues()}
        queue_ids = set(queue_ids) - known
        agent_ids = {a for a in agent_ids if not engine.has_agent(a)}
        if not queue_ids and not agent_ids:
            return Loaded()
        return Loaded(queues=await self._repository.queues(queue_ids), agents=await self._repository.agents(agent_ids),
                      finished=await self._repository.finished_since(engine.clock() - RETENTION_SECONDS, queue_ids),
                      live=await self._repository.live_work(queue_ids))

    def _apply(self, engine: RoutingEngine, loaded: Loaded) -> None:
        """Put what was read into the engine, with no await: nobody sees it half done."""
        if not (loaded.queues or loaded.agents):
            return
        for queue in loaded.queues:
            engine.put_queue(queue)
        for agent in loaded.agents:
            engine.put_agent(agent)
        for work in loaded.finished:
            engine.restore_history(work)
        for work in loaded.live:
            engine.restore(work)
        # Desktops open here stay; other agents get the grace to reconnect, then go offline.
        for agent in loaded.agents:
            if agent.logged_in:
                if self._desktops.is_open(agent.id):
                    engine.agent_connected(agent.id)
                else:
                    engine.agent_disconnected(agent.id, self._desktop_grace)
        engine.tick()
        for agent in loaded.agents:
            self._desktops.regreet(agent.id)
        log.info("routing loaded %d queues, %d agents, %d live work items", len(loaded.queues), len(loaded.agents),
                 len(loaded.live))

    async def locate(self, work_id: str) -> Work:
        """Work live here, or finished (from storage); live work of a partition another replica
        owns sends the caller there (`Elsewhere`)."""
        live = self._engine.live_work(work_id)
        if live is not None:
            return live
        stored = await self._repository.get_work(work_id)
        if stored is None:
            raise NotFound(f"work {work_id} does not exist")
        if stored.state not in FINISHED_STATES:
            self.claims.serve_queue(stored.queue_id)
        return stored

    @contextlib.asynccontextmanager
    async def change(self) -> AsyncIterator[RoutingEngine]:
        """Hold the engine alone; on leaving (also by an error), persist and publish what changed."""
        async with self._lock:
            if self.stale.is_set():
                raise Unavailable("routing is reloading after it lost a partition; try again")
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
        while True:
            engine = self._engine
            due = engine.next_deadline()
            now = engine.clock()
            if due is not None and due <= now and not self.stale.is_set():
                try:
                    await self.run(RoutingEngine.tick)
                except Exception:
                    log.exception("routing tick failed")
                continue
            await asyncio.sleep(self._resolution if due is None else min(self._resolution, max(0.0, due - now)))

    async def moved(self, patience: float) -> None:
        """Wait until the queues change (for long polls), at most `patience` seconds."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._moved.wait(), patience)

    async def _flush(self) -> None:
        changes = self._engine.drain()
        if not (changes.notices or changes.work or changes.agents):
            return
        claims = self.claims
        away = self._handed_away(changes.work)
        try:
            work = [(w, self._epoch(self._decided_in(w, away))) for w in changes.work]
            agents = [(a, self._epoch(claims.agent_partition(a.id))) for a in changes.agents]
            events = [e for n in changes.notices if (e := self._event(n, away)) is not None]
            await self._repository.save(work, agents, self._relay.outbox(events), handed_away=away)
        except (Fenced, Unavailable) as exc:
            # Storage did not take the change: the engine is ahead of it and is built afresh.
            self.stale.set()
            log.warning("routing change refused, reloading: %s", exc)
            raise Unavailable(f"routing gave this partition up ({exc}); try again") from exc
        for notice in changes.notices:
            self._desktops.deliver(notice)
        self._relay.push(events)
        self._desktops.forget_finished(changes.work)
        self._moved.set()
        self._moved = asyncio.Event()

    def _epoch(self, partition: str) -> int:
        epoch = self.claims.epoch(partition)
        if epoch is None:
            raise Unavailable(f"the lease on partition {partition} ran out")
        return epoch

    def _handed_away(self, changed: Collection[Work]) -> set[str]:
        """Work this change transferred (or overflowed) to a queue of a partition another replica
        owns: still live, yet gone from the engine (`transfer_away`, the last ring). It is written
        under the epoch of the partition it left and stored under none (0): the owner of its new
        partition takes it (its next round finds live work of its queues under an older epoch,
        `take_strays`) and writes it under its own."""
        return {w.id for w in changed if w.state not in FINISHED_STATES and self._engine.live_work(w.id) is None}

    def _decided_in(self, work: Work, away: Collection[str]) -> str:
        """The partition this replica decided about the work in: its queue's, or for work handed
        away, the partition of the queue it left."""
        return self.claims.queue_partition(work.transferred_from_queues[-1] if work.id in away else work.queue_id)

    def _event(self, notice: Notice, away: Collection[str]) -> OutboxEntry | None:
        if notice.work is not None:
            partition = self._decided_in(notice.work, away)
        else:
            partition = self.claims.agent_partition(notice.agent_id)
        engine = self._engine
        # What the customer's chat shows for the agent (a bot worker has no record here).
        name = engine.agent(notice.agent_id).display_name if engine.has_agent(notice.agent_id) else ""
        return publishing.event(notice, partition, self._epoch(partition), agent_display_name=name)
