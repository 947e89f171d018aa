"""The floor: every queue (waiting, longest wait, service level today and over 15 minutes, agents
by state, callbacks pending, work with the bots) and every agent (state since when, the work they
hold, handled today, average handle time), put together from routing's live view and the day's
figures supervision keeps, as one caller may see it."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping, Sequence

from omni.runtime.channels import Channel
from omni.supervision.domain.access import Sight
from omni.supervision.domain.queue_health import QueueFigures

BUSY_STATES = frozenset({"busy", "wrap_up"})


@dataclasses.dataclass(frozen=True)
class QueueInfo:
    id: str
    display_name: str
    groups: tuple[str, ...]
    # Service-level target 0..1.
    target: float


@dataclasses.dataclass(frozen=True)
class AgentInfo:
    id: str
    display_name: str
    groups: tuple[str, ...]
    # "offline", "available", "busy", "wrap_up", "break".
    status: str
    status_reason: str = ""
    since: dt.datetime | None = None
    supervisor: bool = False


@dataclasses.dataclass(frozen=True)
class LiveWork:
    work_id: str
    session_id: str
    queue_id: str
    channel: Channel | None
    agent_id: str
    emotion_score: int = 0
    urgent: bool = False
    answered_at: dt.datetime | None = None


@dataclasses.dataclass(frozen=True)
class AgentDay:
    agent_id: str
    handled: int = 0
    handle_seconds: float = 0.0

    @property
    def average_handle_time(self) -> float:
        return self.handle_seconds / self.handled if self.handled else 0.0


@dataclasses.dataclass(frozen=True)
class RoutingView:
    """What routing says now (read with supervision's own token, narrowed per caller here)."""

    queues: Sequence[QueueInfo] = ()
    recent: Mapping[str, QueueFigures] = dataclasses.field(default_factory=dict)
    today: Mapping[str, QueueFigures] = dataclasses.field(default_factory=dict)
    agents: Sequence[AgentInfo] = ()
    live_work: Sequence[LiveWork] = ()
    callbacks: Mapping[str, int] = dataclasses.field(default_factory=dict)
    bot_held: Mapping[str, int] = dataclasses.field(default_factory=dict)
    read_at: dt.datetime | None = None
    # What could not be read ("routing: unavailable").
    degraded: tuple[str, ...] = ()

    def queue_groups(self) -> dict[str, tuple[str, ...]]:
        return {queue.id: queue.groups for queue in self.queues}


@dataclasses.dataclass(frozen=True)
class QueueRow:
    queue: QueueInfo
    recent: QueueFigures
    today: QueueFigures
    available: int
    busy: int
    on_break: int
    callbacks: int
    bot_held: int


@dataclasses.dataclass(frozen=True)
class AgentRow:
    agent: AgentInfo
    work: tuple[LiveWork, ...]
    day: AgentDay


@dataclasses.dataclass(frozen=True)
class Floor:
    queues: tuple[QueueRow, ...]
    agents: tuple[AgentRow, ...]
    as_of: dt.datetime | None
    degraded: tuple[str, ...]


def floor(view: RoutingView, days: Mapping[str, AgentDay], seen: Sight) -> Floor:
    agents = [agent for agent in view.agents if seen.sees_agent(agent.groups)]
    rows: list[QueueRow] = []
    for queue in view.queues:
        if not seen.sees_queue(queue.id):
            continue
        staff = [a for a in view.agents if set(a.groups) & set(queue.groups)]
        rows.append(QueueRow(
            queue=queue, recent=view.recent.get(queue.id, QueueFigures(queue.id)),
            today=view.today.get(queue.id, QueueFigures(queue.id)),
            available=sum(a.status == "available" for a in staff), busy=sum(a.status in BUSY_STATES for a in staff),
            on_break=sum(a.status == "break" for a in staff), callbacks=view.callbacks.get(queue.id, 0),
            bot_held=view.bot_held.get(queue.id, 0)))
    work_of: dict[str, list[LiveWork]] = {}
    for work in view.live_work:
        work_of.setdefault(work.agent_id, []).append(work)
    return Floor(
        queues=tuple(rows),
        agents=tuple(AgentRow(agent, tuple(work_of.get(agent.id, ())), days.get(agent.id, AgentDay(agent.id)))
                     for agent in sorted(agents, key=lambda a: a.id)),
        as_of=view.read_at, degraded=view.degraded)
