"""Routing's use-case layer: one method per thing a caller can do, by concept.

The only caller of the repository and the publisher; it runs the access rules of
`domain/access.py` and holds the engine behind its lock (`engine_room`), so every change of
routing state goes through here.
"""

from __future__ import annotations

from omni.routing.context import ContextSources
from omni.routing.domain.engine import RoutingEngine
from omni.routing.publishing import Publisher
from omni.routing.repository import RoutingRepository
from omni.routing.usecases.agent_session import AgentSessions
from omni.routing.usecases.agents import AgentUseCases
from omni.routing.usecases.bots import BotUseCases
from omni.routing.usecases.desktops import Desktops
from omni.routing.usecases.engine_room import EngineRoom
from omni.routing.usecases.queues import QueueUseCases
from omni.routing.usecases.work import WorkUseCases


class RoutingUseCases:
    def __init__(self, engine: RoutingEngine, repository: RoutingRepository, publisher: Publisher,
                 contexts: ContextSources, *, desktop_grace: float, default_queue: str,
                 timer_resolution: float) -> None:
        desktops = Desktops(engine, contexts)
        self._room = EngineRoom(engine, repository, publisher, desktops, desktop_grace=desktop_grace,
                                timer_resolution=timer_resolution)
        self.agents = AgentUseCases(self._room)
        self.queues = QueueUseCases(self._room, repository)
        self.work = WorkUseCases(self._room, repository, contexts, desktops, default_queue=default_queue)
        self.bots = BotUseCases(self._room)
        self.sessions = AgentSessions(self._room, desktops, desktop_grace=desktop_grace)

    async def load(self) -> None:
        """Rebuild routing state from storage (at start)."""
        await self._room.load()

    async def run_timer(self) -> None:
        """Offer timeouts, holds ending and lost desktops, as they come due (runs for good)."""
        await self._room.timer()
