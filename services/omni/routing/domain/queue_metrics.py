"""Queue statistics and wait estimates: what a queue's line has been doing and what a waiting
customer is told.

Per queue: the rolling statistics (`stats`), the observed handle time, and per part of its line
(channel and language) the pace at which that part moves and the slots that serve it. The
method is in docs/routing.md ("Queue experience").
"""

from __future__ import annotations

import dataclasses

from omni.routing.domain.estimates import HandleTime, Pace, steady_state_wait
from omni.routing.domain.lines import Part
from omni.routing.domain.queues import QueueConfig
from omni.routing.domain.roster import Roster
from omni.routing.domain.stats import Kind, QueueStatistics, Snapshot
from omni.routing.domain.work import Work, WorkState
from omni.runtime.channels import Channel


@dataclasses.dataclass(frozen=True)
class Position:
    work_id: str
    # 1-based; 0 once the work left the line.
    position: int
    estimated_wait: float
    callback_offered: bool
    state: WorkState


@dataclasses.dataclass(frozen=True)
class QueueView:
    queue_id: str
    as_of: float
    waiting: int
    longest_wait: float
    window: Snapshot
    occupancy: float
    agents_available: int
    agents_logged_in: int
    # Bot lane work no worker has claimed yet, and work a worker is holding a conversation on.
    bot_waiting: int
    bot_in_progress: int
    # Erlang C average speed of answer for a new arrival at the observed load.
    expected_wait: float
    average_handle_time: float


class QueueMetrics:
    def __init__(self, roster: Roster) -> None:
        self._roster = roster
        self._stats: dict[str, QueueStatistics] = {}
        self._handle: dict[str, HandleTime] = {}
        self._paces: dict[tuple[str, Part], Pace] = {}
        # Slots per queue and part; forgotten whenever a queue, an agent or a presence changes.
        self._slot_counts: dict[tuple[str, Part], int] = {}

    def add_queue(self, queue: QueueConfig) -> None:
        self._stats.setdefault(queue.id, QueueStatistics())
        if queue.id not in self._handle:
            self._handle[queue.id] = HandleTime(queue.expected_handle_time)

    def record(self, queue_id: str, now: float, kind: Kind, value: float = 0.0) -> None:
        self._stats[queue_id].record(now, kind, value)

    def handled(self, queue_id: str, now: float, seconds: float) -> None:
        """Work of the queue was wrapped up after `seconds` with the agent."""
        self._stats[queue_id].record(now, Kind.COMPLETED, seconds)
        self._handle[queue_id].observe(seconds)

    def restore(self, work: Work) -> None:
        """Feed work from storage (live or finished) into the rolling statistics."""
        stats = self._stats.get(work.queue_id)
        if stats is None:
            return
        stats.record(work.enqueue_time, Kind.ARRIVED)
        if work.answered():
            stats.record(work.answer_time, Kind.ANSWERED, work.answer_time - work.enqueue_time)
        if work.state is WorkState.COMPLETED and work.answer_time and work.end_time:
            stats.record(work.end_time, Kind.COMPLETED, work.end_time - work.answer_time)
            self._handle[work.queue_id].observe(work.end_time - work.answer_time)
        elif work.state is WorkState.ABANDONED and work.end_time:
            stats.record(work.end_time, Kind.ABANDONED, work.end_time - work.enqueue_time)

    def forget_slots(self) -> None:
        self._slot_counts.clear()

    def joined(self, queue_id: str, part: Part, now: float) -> None:
        """Someone joined the part of the queue's line while nobody of it waited."""
        self._pace(queue_id, part).joined(now)

    def left(self, queue_id: str, part: Part, now: float, still_waiting: int) -> None:
        self._pace(queue_id, part).left(now, self._slots(queue_id, part), still_waiting)

    def estimate(self, queue_id: str, part: Part, place: int) -> float:
        """The wait of the work at `place` (1-based) among the waiting work of the part."""
        return self._pace(queue_id, part).wait(place, self._slots(queue_id, part))

    def view(self, queue: QueueConfig, now: float, window: float, *, waiting: int, oldest: float,
             bot_waiting: int, bot_in_progress: int) -> QueueView:
        snapshot = self._stats[queue.id].snapshot(now, window, queue.service_level_seconds)
        agents = list(self._roster.agents_of(queue))
        logged_in = [a for a in agents if a.logged_in]
        available = sum(1 for a in logged_in if a.ready and any(a.can_take(c) for c in a.capacity))
        aht = self._handle[queue.id].value
        servers = sum(1 for a in logged_in if a.ready)
        occupancy = min(1.0, snapshot.handled_seconds / (len(logged_in) * window)) if logged_in and window else 0.0
        return QueueView(
            queue_id=queue.id, as_of=now, waiting=waiting, longest_wait=now - oldest, window=snapshot,
            occupancy=occupancy, agents_available=available, agents_logged_in=len(logged_in),
            bot_waiting=bot_waiting, bot_in_progress=bot_in_progress,
            expected_wait=steady_state_wait(snapshot.arrival_rate, aht, servers),
            average_handle_time=aht,
        )

    def _pace(self, queue_id: str, part: Part) -> Pace:
        pace = self._paces.get((queue_id, part))
        if pace is None:
            pace = self._paces[(queue_id, part)] = Pace(self._handle[queue_id].value)
        return pace

    def _slots(self, queue_id: str, part: Part) -> int:
        """Slots on the part's channel of ready agents who have the skills and speak the language."""
        slots = self._slot_counts.get((queue_id, part))
        if slots is None:
            queue = self._roster.queue(queue_id)
            channel, language = part
            slots = 0
            for agent in self._roster.agents_of(queue):
                if agent.ready and agent.has_skills(queue.policy.required_skills) and agent.speaks(language):
                    capacity = agent.capacity.get(channel, 0)
                    # A call takes the whole agent, whatever the number configured.
                    slots += min(capacity, 1) if channel is Channel.PHONE else capacity
            self._slot_counts[(queue_id, part)] = slots
        return slots
