"""The open agent desktops and what each is told after a change: offers with their screen pop,
withdrawn offers, assignments and the agent's own presence."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable

from omni.routing.context import ContextSources, CustomerFacts
from omni.routing.domain.agents import Agent
from omni.routing.domain.desktop import AgentShown, Assigned, DesktopEvent, Offered, OfferRevoked, Refused, offer_id
from omni.routing.domain.engine import RoutingEngine
from omni.routing.domain.journal import Notice
from omni.routing.domain.work import FINISHED_STATES, Work, WorkState

log = logging.getLogger("omni.routing")


class Desktop:
    """One agent's open AgentSession stream: its events in order; None ends it."""

    def __init__(self, agent_id: str) -> None:
        self.agent_id = agent_id
        self.events: asyncio.Queue[DesktopEvent | None] = asyncio.Queue()

    def send(self, event: DesktopEvent) -> None:
        self.events.put_nowait(event)

    def close(self) -> None:
        self.events.put_nowait(None)


class Desktops:
    def __init__(self, engine: Callable[[], RoutingEngine], contexts: ContextSources) -> None:
        # Read only: to check that an offer is still open when its screen pop is ready.
        self._engine_of = engine
        self._contexts = contexts
        self._open: dict[str, Desktop] = {}
        # The customer context fetched when work was queued, reused for its screen pop.
        self._facts: dict[str, CustomerFacts] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def open(self, agent_id: str) -> Desktop:
        """A new desktop for the agent; one they had open elsewhere is told and closed."""
        desktop = Desktop(agent_id)
        previous = self._open.get(agent_id)
        if previous is not None:
            previous.send(Refused("signed in on another desktop; this one is closed"))
            previous.close()
        self._open[agent_id] = desktop
        return desktop

    def close(self, desktop: Desktop) -> bool:
        """Forget the desktop; False when another desktop of the agent replaced it already."""
        if self._open.get(desktop.agent_id) is not desktop:
            return False
        del self._open[desktop.agent_id]
        return True

    def is_open(self, agent_id: str) -> bool:
        return agent_id in self._open

    def close_all(self, agent_ids: Iterable[str], why: str) -> None:
        """Close the desktops of these agents (their partition moved to another replica): the
        desktop is told why and reconnects, to the new owner."""
        for agent_id in agent_ids:
            desktop = self._open.pop(agent_id, None)
            if desktop is not None:
                desktop.send(Refused(why))
                desktop.close()

    def greet(self, desktop: Desktop, agent: Agent) -> None:
        """What a desktop shows when it opens: the agent, their open offers and their work."""
        engine = self._engine_of()
        desktop.send(AgentShown(agent.snapshot()))
        for work_id in sorted(agent.offered):
            self._push_offer(engine.get(work_id), agent.id)
        for work_id in sorted(set(agent.holding) - agent.offered):
            desktop.send(Assigned(engine.get(work_id).snapshot()))

    def regreet(self, agent_id: str) -> None:
        """Show an open desktop its agent again after the engine was loaded afresh (its offers,
        made again by that load, come as notices)."""
        desktop = self._open.get(agent_id)
        engine = self._engine_of()
        if desktop is not None and engine.has_agent(agent_id):
            desktop.send(AgentShown(engine.agent(agent_id).snapshot()))

    def remember(self, work_id: str, facts: CustomerFacts) -> None:
        self._facts[work_id] = facts

    def forget_finished(self, changed: Iterable[Work]) -> None:
        for work in changed:
            if work.state in FINISHED_STATES:
                self._facts.pop(work.id, None)

    def deliver(self, notice: Notice) -> None:
        desktop = self._open.get(notice.agent_id)
        if desktop is None:
            return
        if notice.kind == "work_offered" and notice.work is not None:
            self._push_offer(notice.work, notice.agent_id)
        elif notice.kind == "offer_revoked" and notice.work is not None:
            desktop.send(OfferRevoked(offer_id(notice.work)))
        elif notice.kind in ("work_assigned", "callback_scheduled") and notice.work is not None:
            # A callback the agent held whose call went unanswered leaves them: the desk is sent
            # the work as it is now (waiting for its next call) and drops it.
            desktop.send(Assigned(notice.work))
        elif notice.kind == "agent_state_changed" and notice.agent is not None:
            desktop.send(AgentShown(notice.agent))

    def _push_offer(self, work: Work, agent_id: str) -> None:
        """Fetch the screen pop without holding routing up, then send the offer if still open."""
        snapshot = work.snapshot()

        async def send() -> None:
            started = time.monotonic()
            pop = await self._contexts.screen_pop(snapshot, self._facts.get(snapshot.id))
            live = self._engine_of().live_work(snapshot.id)
            desktop = self._open.get(agent_id)
            if (desktop is None or live is None or live.state is not WorkState.OFFERED
                    or live.offered_agent_id != agent_id or live.offer_attempts != snapshot.offer_attempts):
                return
            desktop.send(Offered(snapshot, pop))
            log.debug("offer %s sent to %s (screen pop %.0f ms)", offer_id(snapshot), agent_id,
                      (time.monotonic() - started) * 1000)

        task = asyncio.create_task(send(), name=f"offer {snapshot.id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
