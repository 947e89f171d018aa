"""Routing's use-case layer: one method per thing a caller can do, by concept.

The only caller of the repository, the publisher and the leases; it runs the access rules of
`domain/access.py`, holds the engine behind its lock (`engine_room`), so every change of
routing state goes through here, and keeps this replica's partitions (`ownership`).
"""

from __future__ import annotations

from collections.abc import Callable

from omni.routing.context import ContextSources
from omni.routing.domain.attempts import AttemptPolicy
from omni.routing.domain.best_time import HistoryLimits
from omni.routing.domain.callback_slots import SlotRules
from omni.routing.domain.engine import RoutingEngine
from omni.routing.domain.followups import FollowUpLimits
from omni.routing.leases import Holder, LeaseBoard
from omni.routing.publishing import Publisher
from omni.routing.repository import RoutingRepository
from omni.routing.usecases.agent_session import AgentSessions
from omni.routing.usecases.agents import AgentUseCases
from omni.routing.usecases.bots import BotUseCases
from omni.routing.usecases.callback_times import CallbackTimes
from omni.routing.usecases.claims import Claims
from omni.routing.usecases.desktops import Desktops
from omni.routing.usecases.engine_room import EngineRoom
from omni.routing.usecases.followups import FollowUps
from omni.routing.usecases.outbound import CallHistory, OutboundWork
from omni.routing.usecases.ownership import OpenInbox, Ownership
from omni.routing.usecases.queues import QueueUseCases
from omni.routing.usecases.relay import EventRelay
from omni.routing.usecases.work import WorkUseCases


class RoutingUseCases:
    def __init__(self, new_engine: Callable[[], RoutingEngine], repository: RoutingRepository,
                 publisher: Publisher, contexts: ContextSources, board: LeaseBoard, me: Holder, *,
                 desktop_grace: float, default_queue: str, timer_resolution: float,
                 attempts: AttemptPolicy | None = None, slot_rules: SlotRules | None = None,
                 call_history: HistoryLimits | None = None, follow_ups: FollowUpLimits | None = None) -> None:
        claims = Claims(lambda partition: holder.address if (holder := board.holder(partition)) else "")
        desktops = Desktops(lambda: self._room.engine, contexts)
        self.relay = EventRelay(repository, publisher)
        self._room = EngineRoom(new_engine, repository, self.relay, desktops, claims, desktop_grace=desktop_grace,
                                timer_resolution=timer_resolution)
        self.ownership = Ownership(board, repository, self._room, self.relay, desktops, me)
        self.agents = AgentUseCases(self._room, repository, self.ownership)
        self.queues = QueueUseCases(self._room, repository, self.ownership)
        attempts = attempts or AttemptPolicy()
        self.work = WorkUseCases(self._room, repository, contexts, desktops, default_queue=default_queue,
                                 attempts=attempts)
        self.outbound = OutboundWork(self._room, self.work, contexts, attempts,
                                     CallHistory(repository, call_history or HistoryLimits()))
        self.callback_times = CallbackTimes(self._room, repository, self.work, attempts=attempts,
                                            rules=slot_rules or SlotRules())
        self.follow_ups = FollowUps(self._room, repository, self.work, follow_ups or FollowUpLimits())
        self.bots = BotUseCases(self._room)
        self.sessions = AgentSessions(self._room, desktops, desktop_grace=desktop_grace)

    def engine(self) -> RoutingEngine:
        """The engine as it is now (for reading: metrics)."""
        return self._room.engine

    async def start(self, open_inbox: OpenInbox) -> None:
        """Take this replica's share of the partitions (loading each from storage); `open_inbox`
        starts the session events of a partition taken."""
        await self.ownership.start(open_inbox)

    async def run_timer(self) -> None:
        """Offer timeouts, holds ending and lost desktops, as they come due (runs for good)."""
        await self._room.timer()
