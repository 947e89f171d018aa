"""The routing engine's state and everything that reads it without changing it.

`RoutingEngine` (the dispatch core, `engine`) adds every change; this base holds the parts it
works with: the roster, the live work, the waiting lines, the bot lane, the deadlines, the
queue metrics and the change journal.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from omni.routing.domain.agents import Agent
from omni.routing.domain.bot_lane import BOT_CLAIM_SECONDS, BotLane
from omni.routing.domain.deadlines import Deadlines
from omni.routing.domain.journal import Journal
from omni.routing.domain.lines import Lines, part_of
from omni.routing.domain.queue_metrics import Position, QueueMetrics, QueueView
from omni.routing.domain.queues import QueueConfig
from omni.routing.domain.roster import Roster
from omni.routing.domain.vacancies import Vacancies
from omni.routing.domain.work import WAITING_STATES, Work
from omni.runtime.errors import NotFound

Clock = Callable[[], float]


class EngineState:
    def __init__(self, clock: Clock, *, bot_claim_seconds: float = BOT_CLAIM_SECONDS) -> None:
        self.clock = clock
        self._roster = Roster()
        self._vacancies = Vacancies(self._roster)
        # Live work only (waiting, offered, assigned, with the bots); finished work is drained.
        self._work: dict[str, Work] = {}
        self._lines = Lines()
        self._deadlines = Deadlines()
        self._metrics = QueueMetrics(self._roster)
        self._journal = Journal()
        self._bots = BotLane(self._deadlines, self._journal, bot_claim_seconds)

    def agent(self, agent_id: str) -> Agent:
        return self._roster.agent(agent_id)

    def agents(self) -> Iterator[Agent]:
        return self._roster.agents()

    def has_agent(self, agent_id: str) -> bool:
        return self._roster.find_agent(agent_id) is not None

    def queue(self, queue_id: str) -> QueueConfig:
        return self._roster.queue(queue_id)

    def queues(self) -> Iterator[QueueConfig]:
        return self._roster.queues()

    def has_queue(self, queue_id: str) -> bool:
        return self._roster.find_queue(queue_id) is not None

    def get(self, work_id: str) -> Work:
        found = self._work.get(work_id)
        if found is None:
            raise NotFound(f"work {work_id} is not live in routing (finished or never queued)")
        return found

    def serving(self, queue_id: str) -> int:
        """How many agents serve the queue (share a group with it), whatever their state."""
        return len(self._roster.agent_ids_of(self.queue(queue_id)))

    def live_work(self, work_id: str) -> Work | None:
        return self._work.get(work_id)

    def live(self) -> Iterator[Work]:
        """Every live work item (waiting, offered, assigned, with the bots)."""
        return iter(self._work.values())

    def waiting(self, queue_id: str) -> list[Work]:
        """The queue's waiting work in routing order."""
        return [self._work[w] for w in self._lines.of(self.queue(queue_id).id)]

    def next_deadline(self) -> float | None:
        return self._deadlines.next()

    def position(self, work_id: str) -> Position:
        work = self.get(work_id)
        queue = self.queue(work.queue_id)
        if work.state not in WAITING_STATES:
            return Position(work.id, 0, 0.0, False, work.state)
        place = self._lines.index(work) + 1
        wait = self._estimate(work)
        return Position(work.id, place, wait, work.callback_offered or wait > queue.callback_threshold, work.state)

    def queue_stats(self, queue_id: str, window: float) -> QueueView:
        queue = self.queue(queue_id)
        now = self.clock()
        line = self._lines.of(queue_id)
        oldest = min((self._work[w].enqueue_time for w in line), default=now)
        return self._metrics.view(queue, now, window, waiting=len(line), oldest=oldest,
                                  bot_waiting=self._bots.unclaimed(queue_id),
                                  bot_in_progress=self._bots.claimed(queue_id))

    def _estimate(self, work: Work) -> float:
        """Waiting work: its place among the work of its part × how fast that part moves; where the
        queue's last ring is another queue of this engine, no more than the wait until that ring
        opens plus that queue's wait for one more (a complaint caller is not told the supervisors'
        whole line when everyone else takes the call after 20 s)."""
        part = part_of(work)
        wait = self._metrics.estimate(work.queue_id, part, self._lines.place(work))
        ring = self.queue(work.queue_id).policy
        if ring.overflow_queue and self.has_queue(ring.overflow_queue) \
                and ring.overflow_queue not in work.transferred_from_queues:
            opens = min(work.ring_start + ring.overflow_after, work.deadline) - self.clock()
            behind = self._lines.of(ring.overflow_queue).waiting(part) + 1
            there = self._metrics.estimate(ring.overflow_queue, part, behind)
            wait = min(wait, max(0.0, opens) + there)
        return wait
