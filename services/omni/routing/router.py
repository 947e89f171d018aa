"""The engine in the service: one lock around it, state written to MongoDB and facts published
after every change, offers pushed to agent desktops, and a timer for deadlines."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Callable
from typing import TypeVar

from omni.routing import convert
from omni.routing.context import ContextSources, CustomerFacts
from omni.routing.domain.agents import Agent
from omni.routing.domain.engine import RoutingEngine
from omni.routing.domain.journal import Notice
from omni.routing.domain.stats import RETENTION_SECONDS
from omni.routing.domain.work import Reason, Work, WorkState
from omni.routing.repository import RoutingRepository
from omni.runtime.errors import FailedPrecondition
from omni.runtime.events import EventBus
from omni.runtime.proto_values import timestamp_from_seconds
from omnichannel.routing.v1 import events_pb2, routing_pb2

log = logging.getLogger("omni.routing")
T = TypeVar("T")

WORK_EVENTS = frozenset({
    "work_queued", "work_offered", "offer_accepted", "offer_rejected", "offer_timed_out", "work_assigned",
    "work_transferred", "work_abandoned", "callback_scheduled", "work_completed", "work_overflowed",
})


def offer_id(work: Work) -> str:
    return f"{work.id}#{work.offer_attempts}"


class Desktop:
    """One agent's open AgentSession stream."""

    def __init__(self, agent_id: str) -> None:
        self.agent_id = agent_id
        self.events: asyncio.Queue[routing_pb2.AgentEvent | None] = asyncio.Queue()

    def send(self, event: routing_pb2.AgentEvent) -> None:
        self.events.put_nowait(event)

    def close(self) -> None:
        self.events.put_nowait(None)


class Router:
    def __init__(self, engine: RoutingEngine, repo: RoutingRepository, bus: EventBus, contexts: ContextSources,
                 *, desktop_grace: float, timer_resolution: float = 0.2) -> None:
        self.engine = engine
        self.repo = repo
        self.bus = bus
        self.contexts = contexts
        self.desktop_grace = desktop_grace
        self._resolution = timer_resolution
        self._lock = asyncio.Lock()
        self._desktops: dict[str, Desktop] = {}
        self._facts: dict[str, CustomerFacts] = {}
        self._moved = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()

    async def load(self) -> None:
        """Rebuild the engine from MongoDB: queues, agents, then live work in arrival order."""
        async with self._lock:
            for queue in await self.repo.queues():
                self.engine.put_queue(queue)
            for agent in await self.repo.agents():
                self.engine.put_agent(agent)
            for work in await self.repo.finished_since(self.engine.clock() - RETENTION_SECONDS):
                self.engine.restore_history(work)
            for work in await self.repo.live_work():
                self.engine.restore(work)
            # No desktop survived the restart: agents who do not reconnect go offline after the grace.
            for agent in self.engine.agents():
                if agent.logged_in:
                    self.engine.agent_disconnected(agent.id, self.desktop_grace)
            self.engine.tick()
            await self._flush()
        log.info("routing state loaded: %d queues, %d agents, %d live work items",
                 sum(1 for _ in self.engine.queues()), sum(1 for _ in self.engine.agents()),
                 sum(1 for _ in self.engine.live()))

    async def run(self, change: Callable[[], T]) -> T:
        """Apply one change to the engine, then persist and publish what it caused."""
        async with self._lock:
            try:
                return change()
            finally:
                await self._flush()

    async def enqueue(self, work: Work) -> Work:
        """Queue work with the customer's VIP tier and last agent when tickets answers in time."""
        if self.engine.live_work(work.id) is not None:
            return self.engine.get(work.id)
        stored = await self.repo.get_work(work.id)
        if stored is not None:
            return stored
        facts = await self.contexts.customer(work)
        if facts.context is not None:
            work.vip = work.vip or facts.vip
            work.preferred_agent_id = work.preferred_agent_id or facts.last_agent_id
            work.customer_id = work.customer_id or facts.context.customer.id
            work.customer_name = work.customer_name or facts.context.customer.display_name
        self._facts[work.id] = facts
        queued = await self.run(lambda: self.engine.enqueue(work))
        if facts.degraded and queued is work:
            work.reasons.append(Reason("customer_context_unavailable", facts.degraded))
            await self.repo.save([work])
        return queued

    async def timer(self) -> None:
        """Run `tick` whenever a deadline (offer timeout, hold, lost desktop) is due."""
        while True:
            due = self.engine.next_deadline()
            now = self.engine.clock()
            if due is not None and due <= now:
                try:
                    await self.run(self.engine.tick)
                except Exception:
                    log.exception("routing tick failed")
                continue
            await asyncio.sleep(self._resolution if due is None else min(self._resolution, due - now))

    async def moved(self, patience: float) -> None:
        """Wait until the queues change (for position watchers), at most `patience` seconds."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._moved.wait(), patience)

    # ----- desktops --------------------------------------------------------------------

    async def attach(self, agent_id: str) -> Desktop:
        desktop = Desktop(agent_id)
        previous = self._desktops.get(agent_id)
        if previous is not None:
            previous.send(routing_pb2.AgentEvent(error="signed in on another desktop; this one is closed"))
            previous.close()
        self._desktops[agent_id] = desktop
        agent = await self.run(lambda: self._connected(agent_id))
        desktop.send(routing_pb2.AgentEvent(agent=convert.agent_to_proto(agent)))
        for work_id in sorted(agent.offered):
            self._push_offer(self.engine.get(work_id), agent_id)
        for work_id in sorted(set(agent.holding) - agent.offered):
            desktop.send(routing_pb2.AgentEvent(assigned=convert.work_to_proto(self.engine.get(work_id))))
        return desktop

    def _connected(self, agent_id: str) -> Agent:
        self.engine.agent_connected(agent_id)
        return self.engine.agent(agent_id)

    async def detach(self, desktop: Desktop) -> None:
        if self._desktops.get(desktop.agent_id) is not desktop:
            return
        del self._desktops[desktop.agent_id]
        await self.run(lambda: self.engine.agent_disconnected(desktop.agent_id, self.desktop_grace))

    def resolve_offer(self, agent_id: str, offer: str) -> str:
        work_id, _, attempt = offer.rpartition("#")
        work = self.engine.live_work(work_id)
        if work is None or str(work.offer_attempts) != attempt or work.offered_agent_id != agent_id:
            raise FailedPrecondition(f"offer {offer} is no longer open for {agent_id} (withdrawn or answered)")
        return work_id

    # ----- after each change -----------------------------------------------------------

    async def _flush(self) -> None:
        changes = self.engine.drain()
        if not (changes.notices or changes.work or changes.agents):
            return
        await self.repo.save(changes.work, changes.agents)
        for notice in changes.notices:
            self._to_desktop(notice)
            try:
                await self._publish(notice)
            except Exception:
                log.exception("could not publish %s", notice.kind)
        for work in changes.work:
            if work.state in (WorkState.COMPLETED, WorkState.ABANDONED):
                self._facts.pop(work.id, None)
        self._moved.set()
        self._moved = asyncio.Event()

    async def _publish(self, notice: Notice) -> None:
        if notice.kind in WORK_EVENTS and notice.work is not None:
            work = notice.work
            await self.bus.publish("routing", notice.kind, f"work/{work.id}", events_pb2.WorkEvent(
                work=convert.work_to_proto(work), agent_id=notice.agent_id, reason=notice.reason,
                disposition=notice.disposition),
                event_id=f"{work.id}:{notice.kind}:{work.offer_attempts}:{work.transfer_count}:{work.seq}")
        elif notice.kind == "agent_state_changed" and notice.agent is not None:
            await self.bus.publish("routing", "agent_state_changed", f"agents/{notice.agent_id}",
                                   events_pb2.AgentStateChanged(
                                       agent=convert.agent_to_proto(notice.agent),
                                       previous_status=convert.agent_status_number(notice.previous_status)
                                       if notice.previous_status else routing_pb2.AGENT_STATUS_UNSPECIFIED),
                                   event_id=uuid.uuid4().hex)

    def _to_desktop(self, notice: Notice) -> None:
        desktop = self._desktops.get(notice.agent_id)
        if desktop is None:
            return
        if notice.kind == "work_offered" and notice.work is not None:
            self._push_offer(notice.work, notice.agent_id)
        elif notice.kind == "offer_revoked" and notice.work is not None:
            desktop.send(routing_pb2.AgentEvent(offer_revoked=f"{notice.work.id}#{notice.work.offer_attempts}"))
        elif notice.kind == "work_assigned" and notice.work is not None:
            desktop.send(routing_pb2.AgentEvent(assigned=convert.work_to_proto(notice.work)))
        elif notice.kind == "agent_state_changed" and notice.agent is not None:
            desktop.send(routing_pb2.AgentEvent(agent=convert.agent_to_proto(notice.agent)))

    def _push_offer(self, work: Work, agent_id: str) -> None:
        """Fetch the screen pop without holding routing up, then send the offer if still open."""
        snapshot = work.snapshot()

        async def send() -> None:
            started = time.monotonic()
            pop = await self.contexts.screen_pop(snapshot, self._facts.get(snapshot.id))
            live = self.engine.live_work(snapshot.id)
            desktop = self._desktops.get(agent_id)
            if (desktop is None or live is None or live.state is not WorkState.OFFERED
                    or live.offered_agent_id != agent_id or live.offer_attempts != snapshot.offer_attempts):
                return
            offer = routing_pb2.Offer(id=offer_id(snapshot), work=convert.work_to_proto(snapshot), screen_pop=pop)
            offer.expire_time.CopyFrom(timestamp_from_seconds(snapshot.offer_expires))
            desktop.send(routing_pb2.AgentEvent(offer=offer))
            log.debug("offer %s sent to %s (screen pop %.0f ms)", offer.id, agent_id,
                      (time.monotonic() - started) * 1000)

        task = asyncio.create_task(send(), name=f"offer {snapshot.id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
